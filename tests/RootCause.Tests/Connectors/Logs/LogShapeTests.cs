using System.Text;
using RootCause.Connectors.Logs;

namespace RootCause.Tests.Connectors.Logs;

/// <summary>Payloads written from each shape's documented format (tests/fixtures/logs), read into records.</summary>
public sealed class LogShapeTests
{
    internal static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(Payloads.FixturesDirectory, "logs", name));

    private static LogBatch Parse(string name, string contentType = "application/x-ndjson") => LogBatchParser.Parse(Fixture(name), contentType);

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void SerilogCompactJsonGivesLevelsRenderedMessagesAndTheExceptionFromAtX()
    {
        var batch = Parse("serilog-compact.ndjson");

        Assert.Empty(batch.Malformed);
        Assert.Equal(["serilog", "serilog", "serilog", "serilog"], batch.Records.Select(r => r.Shape));
        Assert.Equal([LogRecordLevel.Info, LogRecordLevel.Error, LogRecordLevel.Fatal, LogRecordLevel.Debug], batch.Records.Select(r => r.Level));
        var info = batch.Records[0];
        Assert.Equal(("Charging order 81734 for 42.5", "checkout-api", "Checkout.Payments.PaymentsClient", "checkout-7d9f-x2"),
            (info.Message, info.Service, info.Logger, info.Host));
        var error = batch.Records[1];
        Assert.Equal(At("2026-11-20T14:02:12.0031876Z"), error.Timestamp);
        Assert.Equal("Charge for order 81734 failed after 30001.2 ms", error.Message);
        Assert.Equal(("System.TimeoutException", "Timed out waiting for payments-gateway"), (error.ExceptionType, error.ExceptionMessage));
        Assert.StartsWith("System.TimeoutException: Timed out waiting for payments-gateway\n   at Checkout.Payments.PaymentsClient.ChargeAsync", error.StackTrace, StringComparison.Ordinal);
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", error.TraceId);
        Assert.Equal("Pool exhausted; giving up", batch.Records[2].Message);
        Assert.Null(batch.Records[3].Service);
    }

    [Fact]
    public void EcsIsReadDottedAndNestedWithErrorFields()
    {
        var batch = Parse("ecs.ndjson");

        Assert.Equal(["ecs", "ecs", "ecs"], batch.Records.Select(r => r.Shape));
        var first = batch.Records[0];
        Assert.Equal((LogRecordLevel.Error, "orders", "orders-5c8b", "com.acme.orders.InventoryClient"), (first.Level, first.Service, first.Host, first.Logger));
        Assert.Equal(("java.net.ConnectException", "Connection refused (inventory:8080)"), (first.ExceptionType, first.ExceptionMessage));
        Assert.Equal(At("2026-11-20T14:02:15.123Z"), first.Timestamp);
        Assert.Equal((LogRecordLevel.Warn, "orders", "com.acme.orders.Retry"), (batch.Records[1].Level, batch.Records[1].Service, batch.Records[1].Logger));
        // Only a stack trace: type and message come from its first line.
        var nested = batch.Records[2];
        Assert.Equal((LogRecordLevel.Error, "java.lang.IllegalStateException", "reservation 77 is closed"), (nested.Level, nested.ExceptionType, nested.ExceptionMessage));
    }

    [Fact]
    public void PinoAndBunyanNumericLevelsMapTenToSixty()
    {
        var pino = Parse("pino.ndjson");
        var bunyan = Parse("bunyan.ndjson");

        Assert.Equal(["pino", "pino", "pino"], pino.Records.Select(r => r.Shape));
        Assert.Equal([LogRecordLevel.Info, LogRecordLevel.Error, LogRecordLevel.Fatal], pino.Records.Select(r => r.Level));
        var error = pino.Records[1];
        Assert.Equal(("cart", "cart-6f7d", "TypeError", "Cannot read properties of undefined (reading 'items')"),
            (error.Service, error.Host, error.ExceptionType, error.ExceptionMessage));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1795183336123), error.Timestamp);
        Assert.Equal(["bunyan", "bunyan"], bunyan.Records.Select(r => r.Shape));
        Assert.Equal([LogRecordLevel.Error, LogRecordLevel.Debug], bunyan.Records.Select(r => r.Level));
        Assert.Equal(("billing", "Error", "ECONNRESET", At("2026-11-20T14:02:18.250Z")),
            (bunyan.Records[0].Service, bunyan.Records[0].ExceptionType, bunyan.Records[0].ExceptionMessage, bunyan.Records[0].Timestamp));
    }

    [Fact]
    public void AnOtlpExportBecomesOneRecordPerLogRecordWithResourceServiceAndExceptionAttributes()
    {
        var batch = Parse("otlp-logs.json", "application/json");

        Assert.Empty(batch.Malformed);
        Assert.Equal([LogRecordLevel.Error, LogRecordLevel.Info, LogRecordLevel.Fatal], batch.Records.Select(r => r.Level));
        Assert.All(batch.Records, r => Assert.Equal(("otlp", "payments-gateway", "gw-2", "Payments.Gateway.ChargeHandler"), (r.Shape, r.Service, r.Host, r.Logger)));
        var error = batch.Records[0];
        Assert.Equal(("Charge failed", "Npgsql.NpgsqlException", "The connection pool has been exhausted", "5b8efff798038103d269b633813fc60c"),
            (error.Message, error.ExceptionType, error.ExceptionMessage, error.TraceId));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795183338), error.Timestamp);
        // timeUnixNano 0 means unset: the observed time stands in.
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795183340), batch.Records[2].Timestamp);
    }

    [Fact]
    public void ALokiPushTakesServiceAndLevelFromStreamLabelsAndReadsJsonLines()
    {
        var batch = Parse("loki-push.json", "application/json");

        Assert.Equal(3, batch.Records.Count);
        Assert.Equal(("plain", "search", LogRecordLevel.Error, DateTimeOffset.FromUnixTimeSeconds(1795183341)),
            (batch.Records[0].Shape, batch.Records[0].Service, batch.Records[0].Level, batch.Records[0].Timestamp));
        Assert.Equal(("json", "search", LogRecordLevel.Info, "reindex done"), (batch.Records[1].Shape, batch.Records[1].Service, batch.Records[1].Level, batch.Records[1].Message));
        var frontend = batch.Records[2];
        Assert.Equal(("frontend", LogRecordLevel.Error, "System.TimeoutException", "no answer from search in 5000 ms", At("2026-11-20T14:02:23Z")),
            (frontend.Service, frontend.Level, frontend.ExceptionType, frontend.ExceptionMessage, frontend.Timestamp));
    }

    [Fact]
    public void PlainTextLinesGiveTimeLevelAndExceptionWhenTheyHaveThem()
    {
        var batch = Parse("plain.log", "text/plain");

        Assert.Equal(4, batch.Records.Count);
        Assert.Equal([LogRecordLevel.Info, LogRecordLevel.Error, LogRecordLevel.Info, LogRecordLevel.Info], batch.Records.Select(r => r.Level));
        Assert.Equal(At("2026-11-20T14:02:25.402Z"), batch.Records[1].Timestamp);
        Assert.Equal(("java.lang.NullPointerException", "order.customer is null"), (batch.Records[1].ExceptionType, batch.Records[1].ExceptionMessage));
        Assert.Null(batch.Records[3].Timestamp);
    }

    [Fact]
    public void TruncatedAndMalformedLinesAreCountedAndTheRestOfTheBatchIsRead()
    {
        var body = string.Join('\n',
            """{"@t":"2026-11-20T14:02:12Z","@mt":"ok","@l":"Error"}""",
            """{"@t":"2026-11-20T14:02:13Z","@mt":"cut off he""",
            """[1, 2""",
            "",
            """{"level":50,"time":1795183336123,"msg":"still read"}""",
            """{"@timestamp":"2026-11-20T14:02:15Z","log.level":"error","message":"truncated by the shipper","error.type":"Sys""") ;

        var batch = LogBatchParser.Parse(Encoding.UTF8.GetBytes(body), "application/x-ndjson");

        Assert.Equal(["ok", "still read"], batch.Records.Select(r => r.Message));
        Assert.Equal([2, 3, 6], batch.Malformed.Select(m => m.Number));
        Assert.All(batch.Malformed, m => Assert.Contains("not valid JSON", m.Error, StringComparison.Ordinal));
    }

    [Fact]
    public void AJsonArrayIsABatchAndItsNonObjectElementsAreMalformed()
    {
        var body = """[{"level":"error","message":"a","service":"s1"}, 42, {"severity":"WARNING","msg":"b"}]""";

        var batch = LogBatchParser.Parse(Encoding.UTF8.GetBytes(body), "application/json");

        Assert.Equal([("a", LogRecordLevel.Error), ("b", LogRecordLevel.Warn)], batch.Records.Select(r => (r.Message, r.Level)));
        Assert.Equal(2, Assert.Single(batch.Malformed).Number);
    }

    [Fact]
    public void ABearerTokenMatchesOnlyExactly()
    {
        Assert.True(LogsReceiver.TokenMatches("s3cret-token", "Bearer s3cret-token"));
        Assert.True(LogsReceiver.TokenMatches("s3cret-token", "bearer s3cret-token"));
        Assert.False(LogsReceiver.TokenMatches("s3cret-token", "Bearer s3cret-toke"));
        Assert.False(LogsReceiver.TokenMatches("s3cret-token", "s3cret-token"));
        Assert.False(LogsReceiver.TokenMatches("s3cret-token", null));
    }
}
