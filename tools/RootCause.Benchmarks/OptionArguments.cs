using System.Globalization;

namespace RootCause.Benchmarks;

/// <summary>The command-line reading every benchmark's options share: <c>--name value</c>, <c>--name=value</c> and bare flags.</summary>
internal static class OptionArguments
{
    /// <summary>
    /// The options in order, each with its value (null for a flag of <paramref name="flags"/>). False on
    /// <c>--help</c> / <c>-h</c> (with a null problem) and when a value is missing (with the problem).
    /// </summary>
    public static bool TryRead(string[] args, IReadOnlyCollection<string> flags, out List<(string Name, string? Value)> options, out string? problem)
    {
        options = [];
        problem = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                return false;
            }
            if (flags.Contains(arg))
            {
                options.Add((arg, null));
                continue;
            }
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                options.Add((arg[..equals], arg[(equals + 1)..]));
            }
            else if (i + 1 < args.Length)
            {
                options.Add((arg, args[++i]));
            }
            else
            {
                problem = $"{arg}: expected a value.";
                return false;
            }
        }
        return true;
    }

    /// <summary>A whole number of at least <paramref name="minimum"/> (0 or 1), or the problem naming the option.</summary>
    public static bool TryWholeNumber(string name, string value, int minimum, out int number, out string? problem)
    {
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out number) && number >= minimum)
        {
            problem = null;
            return true;
        }
        problem = minimum > 0
            ? $"{name}: expected a positive whole number, got '{value}'."
            : $"{name}: expected a non-negative whole number, got '{value}'.";
        return false;
    }
}
