using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace RootCause.Tests.Infrastructure;

/// <summary>Small helpers for JSON over HTTP: raw bodies in, parsed nodes out.</summary>
public static class HttpJson
{
    public static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(
        this HttpClient client, HttpMethod method, string url, string? json = null, string? ifMatch = null, string contentType = "application/json",
        bool expectContinue = false)
    {
        using var request = new HttpRequestMessage(method, url);
        // With Expect: 100-continue the body is sent only once the server asks for it, so a server
        // that refuses a body by its Content-Length answers before the client writes into a closed socket.
        request.Headers.ExpectContinue = expectContinue;
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(this HttpClient client, string url, string json) =>
        client.SendAsync(HttpMethod.Post, url, json);

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> GetJsonAsync(this HttpClient client, string url) =>
        client.SendAsync(HttpMethod.Get, url);

    /// <summary>The field names a 400 ProblemDetails complains about.</summary>
    public static string[] ErrorFields(this JsonNode? problem) =>
        problem?["errors"]?.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal).ToArray() ?? [];
}

/// <summary>Waiting for eventually consistent answers (the search index follows PostgreSQL within a second).</summary>
public static class Eventually
{
    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var value = await probe();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }
            await Task.Delay(25);
        }
    }

    /// <summary>The X-Total-Count of a list URL once it equals <paramref name="expected"/> (or the last one seen).</summary>
    public static async Task<long> TotalAsync(HttpClient client, string url, long expected)
    {
        return await ReturnsAsync(async () =>
        {
            using var response = await client.GetAsync(url);
            return response.Headers.TryGetValues("X-Total-Count", out var values) ? long.Parse(values.First(), System.Globalization.CultureInfo.InvariantCulture) : -1;
        }, total => total == expected);
    }
}
