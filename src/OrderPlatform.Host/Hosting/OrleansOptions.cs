using System.ComponentModel.DataAnnotations;

namespace OrderPlatform.Host.Hosting;

public sealed class OrleansOptions
{
    public const string Section = "Orleans";

    [Required]
    public string ClusterId { get; set; } = "order-platform-local";

    [Required]
    public string ServiceId { get; set; } = "order-platform";

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one at; loopback for one machine.</summary>
    [Required]
    public string AdvertisedAddress { get; set; } = "127.0.0.1";
}
