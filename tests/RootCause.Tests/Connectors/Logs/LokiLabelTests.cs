using RootCause.Connectors.Logs;

namespace RootCause.Tests.Connectors.Logs;

/// <summary>The label set of a Loki protobuf stream, in Prometheus notation with Go string escapes.</summary>
public sealed class LokiLabelTests
{
    [Fact]
    public void LabelsAreReadWithTheirEscapes()
    {
        var labels = LokiProtobuf.ParseLabels("""{job="api", path="C:\\logs\\app.log",msg="say \"hi\"\n", city="K\u00f8benhavn" , empty=""}""");

        Assert.Equal(
        [
            new("job", "api"),
            new("path", @"C:\logs\app.log"),
            new("msg", "say \"hi\"\n"),
            new("city", "København"),
            new("empty", ""),
        ], labels);
        Assert.Empty(LokiProtobuf.ParseLabels("{}"));
        Assert.Empty(LokiProtobuf.ParseLabels(""));
    }

    [Theory]
    [InlineData("""job="api" """)]
    [InlineData("""{job=api}""")]
    [InlineData("""{job="api}""")]
    [InlineData("""{job="api" level="x"}""")]
    [InlineData("""{="api"}""")]
    [InlineData("""{job="\q"}""")]
    [InlineData("""{job="\ud800"}""")]
    public void AMalformedLabelSetIsAFormatError(string text)
    {
        Assert.Throws<FormatException>(() => LokiProtobuf.ParseLabels(text));
    }
}
