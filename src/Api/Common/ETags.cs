using Microsoft.AspNetCore.Http;
using RootCause.Common;

namespace RootCause.Api.Common;

/// <summary>A record's version travels as a strong ETag, <c>"7"</c>.</summary>
public static class ETags
{
    public static string Format(long version) => $"\"{version}\"";

    /// <summary>
    /// The version an update is based on: the If-Match header if sent, else the body's
    /// <c>version</c>. Neither is a 428: updates must say which version they read.
    /// </summary>
    public static long RequireExpectedVersion(HttpRequest request, long? bodyVersion)
    {
        var ifMatch = request.Headers.IfMatch.ToString();
        if (!string.IsNullOrWhiteSpace(ifMatch))
        {
            var text = ifMatch.Trim();
            if (text.StartsWith("W/", StringComparison.Ordinal))
            {
                text = text[2..];
            }
            text = text.Trim('"');
            if (!long.TryParse(text, out var version) || version < 0)
            {
                throw new ValidationFailedException("If-Match", "If-Match must be the ETag of the version you read, e.g. \"3\".");
            }
            return version;
        }
        return bodyVersion ?? throw new PreconditionRequiredException();
    }

    /// <summary>The optional If-Match of a delete or workflow action.</summary>
    public static long? OptionalExpectedVersion(HttpRequest request) =>
        request.Headers.IfMatch.Count == 0 ? null : RequireExpectedVersion(request, null);
}

/// <summary>An update arrived without If-Match or version.</summary>
public sealed class PreconditionRequiredException()
    : Exception("Send the version you read, as an If-Match header (the ETag) or as \"version\" in the body.");
