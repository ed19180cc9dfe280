using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using RootCause.Common;
using RootCause.Queries;

namespace RootCause.Api.Common;

/// <summary>
/// <c>page</c> (from 1) and <c>per_page</c> (1–100, default 20) in, and out the headers
/// X-Total-Count, X-Page, X-Per-Page and an RFC 8288 Link header with first/prev/next/last.
/// </summary>
public static class Paging
{
    public const int DefaultPerPage = 20;
    public const int MaxPerPage = 100;

    public static PageRequest Parse(HttpRequest request, bool includeDeleted)
    {
        var errors = new ValidationErrors();
        var page = ParseInt(errors, request, "page", 1, 1, int.MaxValue / MaxPerPage);
        var perPage = ParseInt(errors, request, "per_page", DefaultPerPage, 1, MaxPerPage);
        errors.ThrowIfAny();
        return new PageRequest(page, perPage, includeDeleted);
    }

    public static void WriteHeaders<T>(HttpContext context, Page<T> page)
    {
        var headers = context.Response.Headers;
        headers["X-Total-Count"] = page.Total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Page"] = page.Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Per-Page"] = page.PerPage.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var last = Math.Max(1, (int)Math.Ceiling(page.Total / (double)page.PerPage));
        var links = new List<string> { Link(context.Request, 1, "first") };
        if (page.Number > 1)
        {
            links.Add(Link(context.Request, Math.Min(page.Number - 1, last), "prev"));
        }
        if (page.Number < last)
        {
            links.Add(Link(context.Request, page.Number + 1, "next"));
        }
        links.Add(Link(context.Request, last, "last"));
        headers.Link = string.Join(", ", links);
    }

    private static string Link(HttpRequest request, int number, string rel)
    {
        var query = request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        query["page"] = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var builder = new QueryBuilder(query);
        return $"<{request.PathBase}{request.Path}{builder}>; rel=\"{rel}\"";
    }

    private static int ParseInt(ValidationErrors errors, HttpRequest request, string name, int fallback, int min, int max)
    {
        if (!request.Query.TryGetValue(name, out var values) || string.IsNullOrEmpty(values.ToString()))
        {
            return fallback;
        }
        if (!int.TryParse(values.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value < min || value > max)
        {
            errors.Add(name, $"{name} must be a whole number from {min} to {max}.");
            return fallback;
        }
        return value;
    }
}
