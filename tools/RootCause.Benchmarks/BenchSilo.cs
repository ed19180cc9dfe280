using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using RootCause.Silo;

namespace RootCause.Benchmarks;

/// <summary>
/// The silo a benchmark (or the accuracy evaluation's pipeline mode) starts in its own process, as the product runs it: real Kestrel on a free
/// loopback port, clustering on the benchmark's database, its own ports. Logs at Warning (per-request
/// and per-decision Information lines would be measured as part of every operation), to stderr with
/// the progress lines, so stdout carries only the Markdown result; no demo data.
/// </summary>
internal static class BenchSilo
{
    /// <param name="connectionString">The benchmark's database.</param>
    /// <param name="clusterId">A cluster id of this run's own.</param>
    /// <param name="indexPath">The search index directory (null: the silo's default).</param>
    /// <param name="serviceId">The Orleans service id (null: the silo's default).</param>
    /// <param name="extra">More <c>--Key=value</c> arguments, which win over these.</param>
    public static WebApplication Build(string connectionString, string clusterId, string? indexPath = null, string? serviceId = null, params string[] extra)
    {
        List<string> args =
        [
            "--urls", "http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={connectionString}",
            $"--Cluster:ClusterId={clusterId}",
            $"--Cluster:SiloPort={FreePort()}",
            $"--Cluster:GatewayPort={FreePort()}",
            "--Cluster:AdvertisedAddress=127.0.0.1",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:Console:LogToStandardErrorThreshold=Trace",
            "--Demo:Load=false",
        ];
        if (serviceId is not null)
        {
            args.Add($"--Cluster:ServiceId={serviceId}");
        }
        if (indexPath is not null)
        {
            args.Add($"--Search:IndexPath={indexPath}");
        }
        args.AddRange(extra);
        return RootCauseSilo.Build([.. args]);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
