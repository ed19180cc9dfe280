using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;

namespace RootCause.Tests.Infrastructure;

/// <summary>A client of <c>GET /api/investigations/{id}/live</c>: reads the server-sent events one by one.</summary>
public sealed class LiveStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<string>> _items;
    private readonly CancellationTokenSource _stop = new();

    private LiveStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _items = SseParser.Create(body).EnumerateAsync(_stop.Token).GetAsyncEnumerator(_stop.Token);
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Opens the stream; the answer must be 200 with <c>text/event-stream</c>.</summary>
    public static async Task<LiveStream> OpenAsync(HttpClient client, string investigationId, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/investigations/{investigationId}/live");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new LiveStream(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next message, whatever its type; fails after <paramref name="timeout"/>.</summary>
    public async Task<(string Type, JsonNode Data, string? Id)> NextAsync(TimeSpan timeout)
    {
        var next = _items.MoveNextAsync().AsTask();
        if (await Task.WhenAny(next, Task.Delay(timeout)) != next)
        {
            throw new TimeoutException($"No server-sent event within {timeout.TotalSeconds:0} s.");
        }
        Assert.True(await next, "the stream ended");
        var item = _items.Current;
        return (item.EventType, JsonNode.Parse(item.Data)!, item.EventId);
    }

    /// <summary>The first message of <paramref name="type"/> that satisfies <paramref name="match"/>, skipping others.</summary>
    public async Task<JsonNode> NextAsync(string type, Func<JsonNode, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"No matching '{type}' event within {timeout.TotalSeconds:0} s.");
            }
            var (t, data, _) = await NextAsync(left);
            if (t == type && match(data))
            {
                return data;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _items.DisposeAsync();
        }
        catch (Exception)
        {
        }
        _stop.Dispose();
    }
}
