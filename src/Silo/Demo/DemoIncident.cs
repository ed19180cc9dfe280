using RootCause.Events;
using RootCause.Investigations;

namespace RootCause.Silo.Demo;

/// <summary>
/// A realistic incident to explore a fresh installation with: checkout starts failing after a
/// deployment that changed the payment client's connection pooling. Loaded when
/// <c>Demo:Load</c> is true; loading it again changes nothing (fixed ids, deduplicated events).
/// </summary>
public static class DemoIncident
{
    public static readonly Guid InvestigationId = Guid.Parse("5e1f0c2a-8d3b-4c4e-9a61-2b7d0e4f1a90");

    public static IHostApplicationBuilder AddDemoIncident(this IHostApplicationBuilder builder)
    {
        if (builder.Configuration.GetValue<bool>("Demo:Load"))
        {
            builder.Services.AddHostedService<Loader>();
        }
        return builder;
    }

    public static async Task<Investigation> LoadAsync(IGrainFactory grains, DateTimeOffset now)
    {
        // The components involved, so the catalog has something to show (merged: an existing catalog keeps its other entries).
        await grains.GetGrain<Catalog.ICatalogGrain>(0).ImportAsync(
        [
            new Catalog.Component
            {
                Name = "checkout-api", Service = "checkout", Description = "Checkout HTTP API: carts, orders, payment confirmation.",
                Aliases = ["checkout", "checkout-svc"], Repositories = ["shop/checkout-api"], PathPrefixes = ["src/"],
                Pipelines = ["checkout-api CI", "integration-tests"], DependsOn = ["payments-gateway"], Owner = "team-checkout",
            },
            new Catalog.Component
            {
                Name = "payments-gateway", Service = "payments", Description = "Talks to the card processors.",
                Aliases = ["payments-gw"], Repositories = ["shop/payments"], PathPrefixes = ["gateway/"],
                Pipelines = ["payments CI"], DependsOn = ["payments-db"], Owner = "team-payments",
            },
            new Catalog.Component { Name = "payments-db", Service = "payments", Description = "PostgreSQL of the payments service.", Owner = "team-payments" },
        ], replace: false);

        var detected = now.AddMinutes(-42);
        var investigation = await grains.GetGrain<IInvestigationGrain>(InvestigationId).CreateAsync(new InvestigationFields
        {
            Title = "Checkout returns 502 for a third of payments after v2.14.0",
            Description = "Payment confirmation requests from checkout-api time out against payments-gateway; "
                + "customers see 'Something went wrong' at the last step. It started minutes after the v2.14.0 deployment.",
            Status = InvestigationStatus.InProgress,
            ImpactSeverity = ImpactSeverity.High,
            Priority = Priority.P1,
            DetectedAt = detected,
            StartedAt = detected.AddMinutes(-6),
            ComponentAffected = "checkout-api",
            ServiceAffected = "checkout",
            Tags = ["payments", "deploy", "latency"],
            CreatedBy = "oncall-bot",
            AssignedTo = "maria.santos",
        });

        Event[] linked =
        [
            await IngestAsync(grains, new EventDraft
            {
                Source = EventSource.Git,
                SourceId = "shop/checkout-api@9f3c2e1b7a4d6c8e0f2a4b6c8d0e2f4a6b8c0d2e",
                EventType = "commit",
                Timestamp = detected.AddHours(-3),
                Severity = EventSeverity.Info,
                Tags = ["checkout-api", "payments-client"],
                Data = """
                    {"repository":"shop/checkout-api","sha":"9f3c2e1b7a4d6c8e0f2a4b6c8d0e2f4a6b8c0d2e",
                     "author":{"name":"Jonas Weber","email":"jonas.weber@example.com"},
                     "message":"Use pooled HttpClient for payments gateway (max 20 connections)",
                     "files":["src/Payments/GatewayClient.cs","src/Payments/PaymentsModule.cs","appsettings.Production.json"],
                     "branch":"main"}
                    """,
            }),
            await IngestAsync(grains, new EventDraft
            {
                Source = EventSource.Ci,
                SourceId = "github-actions/shop/checkout-api/run/8812345671",
                EventType = "build_failed",
                Timestamp = detected.AddHours(-2).AddMinutes(-40),
                Severity = EventSeverity.Medium,
                Tags = ["checkout-api"],
                Data = """
                    {"workflow":"integration-tests","run_id":8812345671,"conclusion":"failure",
                     "head_sha":"9f3c2e1b7a4d6c8e0f2a4b6c8d0e2f4a6b8c0d2e","branch":"main",
                     "failed_job":"payments-contract","failed_step":"Run contract tests against sandbox gateway",
                     "url":"https://ci.example.com/shop/checkout-api/actions/runs/8812345671"}
                    """,
            }),
            await IngestAsync(grains, new EventDraft
            {
                Source = EventSource.Git,
                SourceId = "deploy/checkout-api/production/v2.14.0",
                EventType = "deployment",
                Timestamp = detected.AddMinutes(-9),
                Severity = EventSeverity.Info,
                Tags = ["checkout-api", "production"],
                Data = """
                    {"repository":"shop/checkout-api","environment":"production","ref":"v2.14.0",
                     "sha":"9f3c2e1b7a4d6c8e0f2a4b6c8d0e2f4a6b8c0d2e","creator":"deploy-bot","state":"success"}
                    """,
            }),
            await IngestAsync(grains, new EventDraft
            {
                Source = EventSource.Logs,
                SourceId = "checkout-api/error_spike/demo-incident",
                EventType = "error_spike",
                Timestamp = detected.AddMinutes(-5),
                Severity = EventSeverity.High,
                Tags = ["checkout-api"],
                Data = """
                    {"service":"checkout-api","window_seconds":300,"error_count":1240,"baseline_per_window":3.5,
                     "top_exception":"System.Net.Http.HttpRequestException",
                     "top_message":"Timed out waiting for a connection from the pool (payments-gateway:443)",
                     "sample_stack":"at Shop.Checkout.Payments.GatewayClient.ConfirmAsync(PaymentIntent intent)"}
                    """,
            }),
            await IngestAsync(grains, new EventDraft
            {
                Source = EventSource.Metrics,
                SourceId = "prometheus/checkout-api/http_request_duration_p99/demo-incident",
                EventType = "latency_anomaly",
                Timestamp = detected.AddMinutes(-4),
                Severity = EventSeverity.High,
                Tags = ["checkout-api", "latency"],
                Data = """
                    {"query":"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service=\"checkout-api\",route=\"/payments/confirm\"}[5m])))",
                     "value_seconds":4.8,"baseline_seconds":0.32,"deviation_mad":14.2,"instance":"checkout-api-7d9f8"}
                    """,
            }),
        ];

        // Background noise: a commit to another component, not linked.
        await IngestAsync(grains, new EventDraft
        {
            Source = EventSource.Git,
            SourceId = "shop/catalog-service@1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
            EventType = "commit",
            Timestamp = detected.AddHours(-1),
            Severity = EventSeverity.Info,
            Tags = ["catalog-service"],
            Data = """
                {"repository":"shop/catalog-service","sha":"1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
                 "author":{"name":"Priya Nair","email":"priya.nair@example.com"},
                 "message":"Fix typo in product description template","files":["templates/product.html"],"branch":"main"}
                """,
        });

        var grain = grains.GetGrain<IInvestigationGrain>(InvestigationId);
        foreach (var e in linked)
        {
            // The story's responder linked these (the linker, running beside, would link most of them too).
            investigation = await grain.LinkEventAsync(e.Id, decidedBy: "demo", note: "linked by the demo incident");
        }
        if (investigation.NoteCount == 0)
        {
            await grain.AddNoteAsync(new NewNote
            {
                Author = "maria.santos",
                Kind = NoteKind.Note,
                Body = "Rolled back to **v2.13.2**; the error rate was back to baseline four minutes later. "
                    + "Suspect the new pool limit (20) is far below peak concurrency (~120).",
            });
        }
        return investigation;
    }

    private static async Task<Event> IngestAsync(IGrainFactory grains, EventDraft draft) =>
        (await grains.GetGrain<IEventGrain>(EventKeys.For(draft)).IngestAsync(draft)).Event;

    private sealed class Loader(IGrainFactory grains, TimeProvider time, ILogger<Loader> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var investigation = await LoadAsync(grains, time.GetUtcNow());
            logger.LogInformation("Demo incident loaded: /api/investigations/{InvestigationId}", investigation.Id);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
