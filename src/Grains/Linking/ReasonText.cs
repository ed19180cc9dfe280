using System.Runtime.CompilerServices;

namespace RootCause.Linking;

/// <summary>
/// The sentence of a reason, formatted only while reasons are wanted: the linker scores each event
/// against dozens of candidate investigations and keeps the few that link or suggest, so it scores
/// them all without words first (<see cref="ReasonText.Silenced"/>) and writes the reasons of those it keeps.
/// When silenced, neither the text nor the values in its holes are computed.
/// </summary>
[InterpolatedStringHandler]
public ref struct ReasonText
{
    [ThreadStatic]
    private static bool t_silenced;

    private DefaultInterpolatedStringHandler _text;
    private readonly bool _on;

    public ReasonText(int literalLength, int formattedCount, out bool shouldAppend)
    {
        _on = shouldAppend = !t_silenced;
        _text = _on ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    /// <summary>Whether reasons are skipped on this thread (only around synchronous scoring: see <see cref="LinkScorer"/>).</summary>
    public static bool Silenced
    {
        get => t_silenced;
        internal set => t_silenced = value;
    }

    public void AppendLiteral(string value) => _text.AppendLiteral(value);

    public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

    public void AppendFormatted<T>(T value, string? format) => _text.AppendFormatted(value, format);

    public void AppendFormatted(string? value) => _text.AppendFormatted(value);

    /// <summary>The sentence, or "" when silenced.</summary>
    public string ToStringAndClear() => _on ? _text.ToStringAndClear() : "";
}
