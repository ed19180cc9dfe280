using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Npgsql;
using Polly.Timeout;

namespace RootCause.Connectors;

/// <summary>
/// An upstream answered with an HTTP error. Connectors throw it (through
/// <see cref="FromResponse"/>) instead of handing error responses back, so the pipeline sees every
/// failure as an exception and can read the status and Retry-After.
/// </summary>
public sealed class UpstreamHttpException : HttpRequestException
{
    public UpstreamHttpException(HttpStatusCode statusCode, string message, TimeSpan? retryAfterDelta = null, DateTimeOffset? retryAfterDate = null)
        : base(message, null, statusCode)
    {
        RetryAfterDelta = retryAfterDelta;
        RetryAfterDate = retryAfterDate;
    }

    /// <summary>Retry-After as delta-seconds.</summary>
    public TimeSpan? RetryAfterDelta { get; }

    /// <summary>Retry-After as an HTTP-date.</summary>
    public DateTimeOffset? RetryAfterDate { get; }

    /// <summary>The exception for a response that is not a success, carrying its Retry-After header.</summary>
    public static UpstreamHttpException FromResponse(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var request = response.RequestMessage is { } r ? $" ({r.Method} {r.RequestUri?.GetLeftPart(UriPartial.Path)})" : "";
        return new UpstreamHttpException(
            response.StatusCode,
            $"The upstream answered {(int)response.StatusCode} {response.ReasonPhrase}{request}.",
            response.Headers.RetryAfter?.Delta,
            response.Headers.RetryAfter?.Date);
    }

    /// <summary>Throws <see cref="FromResponse"/> unless the response is a success.</summary>
    public static void ThrowIfFailed(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (!response.IsSuccessStatusCode)
        {
            throw FromResponse(response);
        }
    }

    /// <summary>A Retry-After header value as the exception's fields (for tests and hand-made responses).</summary>
    public static UpstreamHttpException WithRetryAfter(HttpStatusCode statusCode, RetryConditionHeaderValue retryAfter) =>
        new(statusCode, $"The upstream answered {(int)statusCode}.", retryAfter.Delta, retryAfter.Date);
}

/// <summary>Which failures are worth retrying, and how long an upstream asked us to wait.</summary>
public static class TransientFailures
{
    /// <summary>
    /// Transient: connection failures, timeouts, HTTP 408, 429 and 5xx other than 501, and
    /// PostgreSQL errors Npgsql marks transient. Everything else (4xx, parse errors, bugs) would
    /// fail the same way again.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        HttpRequestException { StatusCode: { } status } => IsTransientStatus(status),
        HttpRequestException => true,
        TimeoutRejectedException or TimeoutException => true,
        // HttpClient reports its own timeout as a cancellation caused by a TimeoutException.
        OperationCanceledException { InnerException: TimeoutException } => true,
        NpgsqlException npgsql => npgsql.IsTransient,
        SocketException or IOException => true,
        _ => false,
    };

    public static bool IsTransientStatus(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
        || ((int)status >= 500 && status != HttpStatusCode.NotImplemented && (int)status <= 599);

    /// <summary>
    /// The wait a 429 or 503 asked for (delta-seconds, or an HTTP-date relative to
    /// <paramref name="now"/>; a date in the past means no wait), cut to <paramref name="cap"/>.
    /// Null when the failure carries no Retry-After that applies.
    /// </summary>
    public static TimeSpan? RetryAfter(Exception? exception, DateTimeOffset now, TimeSpan cap)
    {
        if (exception is not UpstreamHttpException { StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable } http)
        {
            return null;
        }
        TimeSpan? wait = http.RetryAfterDelta ?? (http.RetryAfterDate is { } date ? date - now : null);
        if (wait is not { } w)
        {
            return null;
        }
        if (w < TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }
        return w > cap ? cap : w;
    }
}
