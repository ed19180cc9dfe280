using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using RootCause.Search;

namespace RootCause.Api.Common;

/// <summary>
/// <c>page</c> (from 1) and <c>per_page</c> (1–100, default 20) in, and out the headers
/// X-Total-Count, X-Page, X-Per-Page and an RFC 8288 Link header with first/prev/next/last. Where
/// the index gives a cursor, <c>next</c> carries it (<c>cursor=</c>, with the next page number):
/// following it costs one page however deep it is. The other links go by page number.
/// </summary>
public static class Paging
{
    public const int DefaultPerPage = 20;
    public const int MaxPerPage = 100;

    /// <summary>Deepest result a page may reach (page × per_page): deeper paging costs memory for nothing.</summary>
    public const int MaxWindow = 100_000;

    public static void WriteHeaders(HttpContext context, SearchPage page)
    {
        var headers = context.Response.Headers;
        headers["X-Total-Count"] = page.Total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Page"] = page.Page.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Per-Page"] = page.PerPage.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var last = Math.Max(1, (int)Math.Ceiling(page.Total / (double)page.PerPage));
        var links = new List<string> { Link(context.Request, 1, "first") };
        if (page.Page > 1)
        {
            links.Add(Link(context.Request, Math.Min(page.Page - 1, last), "prev"));
        }
        if (page.Page < last)
        {
            links.Add(Link(context.Request, page.Page + 1, "next", page.NextCursor));
        }
        links.Add(Link(context.Request, last, "last"));
        headers.Link = string.Join(", ", links);
    }

    private static string Link(HttpRequest request, int number, string rel, string? cursor = null)
    {
        var query = request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        query["page"] = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        query.Remove("cursor");
        if (cursor is not null)
        {
            query["cursor"] = cursor;
        }
        var builder = new QueryBuilder(query);
        return $"<{request.PathBase}{request.Path}{builder}>; rel=\"{rel}\"";
    }
}
