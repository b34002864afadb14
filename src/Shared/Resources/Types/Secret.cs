using Federation.Validation;

namespace Federation.Resources.Types;

/// <summary>A Secret or GlobalSecret: base64 data (mesh CA material, signing keys, revocation lists).</summary>
public sealed record SecretSpec : IResourceSpec
{
    public required string Data { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public byte[] Bytes => Convert.FromBase64String(Data);

    public void Validate(ValidationContext context)
    {
        Span<byte> buffer = Data.Length <= 4096 ? stackalloc byte[Data.Length] : new byte[Data.Length];
        if (!Convert.TryFromBase64String(Data, buffer, out _))
        {
            context.Error("data", "must be base64");
        }
    }
}
