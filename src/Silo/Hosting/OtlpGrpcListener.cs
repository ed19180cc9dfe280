using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using RootCause.Api.Receivers;

namespace RootCause.Silo.Hosting;

/// <summary>
/// The OTLP/gRPC port (<c>Otlp:GrpcUrl</c>): cleartext HTTP/2 only, beside the API's HTTP/1.1
/// addresses. Kestrel serves only explicitly listed endpoints once any is listed, so with the gRPC
/// port set the API's own addresses (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>HTTP_PORTS</c>) are
/// listed here too.
/// </summary>
public static class OtlpGrpcListener
{
    public static WebApplicationBuilder AddOtlpGrpcListener(this WebApplicationBuilder builder)
    {
        if (OtlpGrpcHosting.GrpcUrl(builder.Configuration) is not { } grpc)
        {
            return builder;
        }
        var urls = ApiUrls(builder.Configuration);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Cleartext: HTTP/1.1 only on the API addresses (HTTP/2 there would need TLS to negotiate).
            foreach (var url in urls)
            {
                Listen(kestrel, url, HttpProtocols.Http1);
            }
            Listen(kestrel, grpc, HttpProtocols.Http2);
        });
        return builder;
    }

    private static List<Uri> ApiUrls(IConfiguration configuration)
    {
        var given = configuration["urls"] is { Length: > 0 } urls
            ? urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : configuration["http_ports"] is { Length: > 0 } ports
                ? ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"http://0.0.0.0:{p}").ToArray()
                : ["http://localhost:5000"];
        var list = new List<Uri>();
        foreach (var text in given)
        {
            var normalized = text.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttp)
            {
                throw new InvalidOperationException(
                    $"With Otlp:GrpcUrl set, the API addresses must be plain http URLs (got '{text}'); terminate TLS in front of the silo.");
            }
            list.Add(url);
        }
        return list;
    }

    private static void Listen(KestrelServerOptions kestrel, Uri url, HttpProtocols protocols)
    {
        void Configure(ListenOptions o) => o.Protocols = protocols;
        if (url.IsLoopback && url.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(url.Port, Configure);
        }
        else if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
        {
            kestrel.Listen(address, url.Port, Configure);
        }
        else
        {
            kestrel.ListenAnyIP(url.Port, Configure);
        }
    }
}
