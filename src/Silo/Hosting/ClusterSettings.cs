using System.ComponentModel.DataAnnotations;

namespace RootCause.Silo.Hosting;

/// <summary>
/// Section <c>Cluster</c> (env <c>Cluster__SiloPort</c> …). Silos with the same ClusterId and
/// ServiceId on the same PostgreSQL form one cluster; give each silo on one host its own ports.
/// </summary>
public sealed class ClusterSettings
{
    public const string Section = "Cluster";

    [Required]
    public string ClusterId { get; set; } = "rootcause";

    /// <summary>Stable across deployments: stored state is keyed by it.</summary>
    [Required]
    public string ServiceId { get; set; } = "rootcause";

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port for external Orleans clients; 0 disables the gateway.</summary>
    [Range(0, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one on; unset means the host's first non-loopback address.</summary>
    public string? AdvertisedAddress { get; set; }
}
