using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace RootCause.Benchmarks.Linking;

/// <summary>
/// A watcher of many investigations' live streams (<c>GET /api/investigations/{id}/live</c>), one
/// connection each, as a canvas open on each of them would be: it says when the link of an event
/// to the investigation it was made for was pushed.
/// </summary>
internal sealed class LinkPushes : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<(Guid Event, Guid Investigation), TaskCompletionSource<long>> _expected = new();
    private readonly List<Task> _readers = [];
    private long _messages;
    private int _resyncs;
    private int _failed;

    private LinkPushes(Uri baseAddress)
    {
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = baseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Messages received on all streams (every type).</summary>
    public long Messages => Interlocked.Read(ref _messages);

    /// <summary><c>resync</c> messages received: a stream may have missed a change.</summary>
    public int Resyncs => Volatile.Read(ref _resyncs);

    public int Streams { get; private set; }

    /// <summary>Streams that ended with an error before the watcher was disposed.</summary>
    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Opens a stream per investigation and returns once every one has said <c>ready</c>.</summary>
    public static async Task<LinkPushes> OpenAsync(Uri baseAddress, IReadOnlyCollection<Guid> investigations)
    {
        var pushes = new LinkPushes(baseAddress);
        var ready = new List<Task>();
        foreach (var investigation in investigations)
        {
            var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ready.Add(opened.Task);
            pushes._readers.Add(pushes.ReadAsync(investigation, opened));
        }
        pushes.Streams = investigations.Count;
        await Task.WhenAll(ready).WaitAsync(TimeSpan.FromMinutes(2));
        return pushes;
    }

    /// <summary>
    /// Completes with the <see cref="Stopwatch"/> timestamp at which the event's <c>linked</c> record
    /// with the investigation arrived. Call it before the event is ingested.
    /// </summary>
    public Task<long> ExpectAsync(Guid eventId, Guid investigationId) =>
        _expected.GetOrAdd((eventId, investigationId), _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    private async Task ReadAsync(Guid investigation, TaskCompletionSource opened)
    {
        try
        {
            using var response = await _http.GetAsync($"/api/investigations/{investigation}/live", HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync(_stop.Token);
            await foreach (var item in SseParser.Create(body).EnumerateAsync(_stop.Token))
            {
                var arrived = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref _messages);
                switch (item.EventType)
                {
                    case "ready":
                        opened.TrySetResult();
                        break;
                    case "resync":
                        Interlocked.Increment(ref _resyncs);
                        break;
                    case "event_link":
                        using (var json = JsonDocument.Parse(item.Data))
                        {
                            var root = json.RootElement;
                            if (root.GetProperty("status").ValueEquals("linked")
                                && _expected.TryGetValue((root.GetProperty("event_id").GetGuid(), investigation), out var waiting))
                            {
                                waiting.TrySetResult(arrived);
                            }
                        }
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            opened.TrySetException(e);
            if (!_stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref _failed);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_readers);
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Streams end with the cancellation; their errors after it do not matter.
        }
        _http.Dispose();
        _stop.Dispose();
    }
}
