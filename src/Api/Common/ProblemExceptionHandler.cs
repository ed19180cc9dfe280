using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using RootCause.Common;

namespace RootCause.Api.Common;

/// <summary>
/// Turns every failure into a ProblemDetails answer: domain rules into 400/404/409/412, bad
/// bodies into 400 naming the field (or 413/415), anything unexpected into a 500 without
/// internals. Nothing reaches the client as a stack trace or an empty error.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = ToProblem(httpContext, exception);
        if (problem.Status >= 500)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
        }
        httpContext.Response.StatusCode = problem.Status ?? 500;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private static ProblemDetails ToProblem(HttpContext context, Exception exception) => exception switch
    {
        ValidationFailedException v => Validation(v.Errors),
        NotFoundException n => new ProblemDetails
        {
            Status = StatusCodes.Status404NotFound,
            Title = "Not found",
            Detail = n.Message,
        },
        VersionConflictException c => Conflict(context, c),
        StateConflictException s => new ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Title = "Conflict with the current state",
            Detail = s.Message,
            Extensions = { ["field"] = s.Field },
        },
        PreconditionRequiredException p => new ProblemDetails
        {
            Status = StatusCodes.Status428PreconditionRequired,
            Title = "Version required",
            Detail = p.Message,
            Extensions = { ["field"] = "version" },
        },
        BadHttpRequestException bad => BadRequest(bad),
        _ => new ProblemDetails
        {
            Status = StatusCodes.Status500InternalServerError,
            Title = "Internal error",
            Detail = "The request could not be completed. It has been logged.",
        },
    };

    /// <summary>
    /// A stale If-Match header is a failed precondition (412, RFC 9110); a stale <c>version</c> in
    /// the body is a conflict (409). Both carry the current version in the body (the exception
    /// handler strips ETag headers from error responses, so it is not sent as an ETag).
    /// </summary>
    private static ProblemDetails Conflict(HttpContext context, VersionConflictException c)
    {
        var viaHeader = context.Request.Headers.IfMatch.Count > 0;
        return new ProblemDetails
        {
            Status = viaHeader ? StatusCodes.Status412PreconditionFailed : StatusCodes.Status409Conflict,
            Title = "Stale version",
            Detail = c.Message,
            Extensions = { ["current_version"] = c.CurrentVersion, ["expected_version"] = c.ExpectedVersion },
        };
    }

    private static ProblemDetails BadRequest(BadHttpRequestException bad)
    {
        if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new ProblemDetails { Status = 413, Title = "Request body too large", Detail = bad.Message };
        }
        if (bad.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return new ProblemDetails { Status = 415, Title = "Unsupported media type", Detail = "Send the body as application/json." };
        }
        if (bad.InnerException is JsonException json && IsConversionFailure(json))
        {
            var field = FieldOf(json.Path);
            return Validation(new Dictionary<string, string[]>
            {
                [field] = [$"{field} has a value of the wrong type or format (timestamps are ISO-8601, e.g. 2026-01-31T12:00:00Z)."],
            });
        }
        if (bad.InnerException is JsonException)
        {
            return Validation(new Dictionary<string, string[]> { ["body"] = ["The body is not valid JSON."] });
        }
        if (BindFailure().Match(bad.Message) is { Success: true } binding)
        {
            var name = JsonNamingPolicy.SnakeCaseLower.ConvertName(binding.Groups["name"].Value);
            return Validation(new Dictionary<string, string[]> { [name] = [$"{name} has an invalid value ('{binding.Groups["value"].Value}')."] });
        }
        if (bad.Message.Contains("body", StringComparison.OrdinalIgnoreCase))
        {
            return Validation(new Dictionary<string, string[]> { ["body"] = ["A JSON body is required."] });
        }
        return new ProblemDetails { Status = bad.StatusCode, Title = "Bad request", Detail = bad.Message };
    }

    /// <summary>
    /// A value of the wrong type for its field, as opposed to text that is not JSON at all
    /// (which System.Text.Json reports with a reader position instead).
    /// </summary>
    private static bool IsConversionFailure(JsonException json) =>
        json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal)
        || json.InnerException is FormatException or InvalidOperationException;

    /// <summary>Minimal APIs report a query or route value that does not parse like this.</summary>
    [GeneratedRegex("""Failed to bind parameter "\S+ (?<name>[^"]+)" from "(?<value>[^"]*)"\.""")]
    private static partial Regex BindFailure();

    /// <summary><c>$.tags[2]</c> becomes <c>tags[2]</c>; a failure at the root is about the body.</summary>
    private static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }
        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static ValidationProblemDetails Validation(IDictionary<string, string[]> errors) => new(errors)
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "One or more fields are invalid",
    };
}
