using System.ComponentModel.DataAnnotations;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Auth;

/// <summary>The signing key and lifetime of the bearer tokens.</summary>
public sealed class AuthOptions
{
    /// <summary>When unset (outside production), a key generated once is kept in <c>DATA_DIR/jwt_secret</c>.</summary>
    [ConfigurationKeyName("JWT_SECRET_KEY")] public string? JwtSecretKey { get; set; }

    [ConfigurationKeyName("JWT_EXPIRES_MINUTES")]
    [Range(1, int.MaxValue, ErrorMessage = "JWT_EXPIRES_MINUTES must be a positive number of minutes.")]
    public int JwtExpiresMinutes { get; set; } = 60 * 24;
}

[OptionsValidator]
internal sealed partial class AuthOptionsRangeValidator : IValidateOptions<AuthOptions>;

/// <summary>The key's length, and that production has one (a cross-field rule with <c>ENVIRONMENT</c>).</summary>
internal sealed class AuthOptionsValidator(IOptions<ServerOptions> server) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        if (server.Value.IsProduction && string.IsNullOrWhiteSpace(options.JwtSecretKey))
        {
            return ValidateOptionsResult.Fail("JWT_SECRET_KEY must be set when ENVIRONMENT=production (at least 32 characters).");
        }

        if (options.JwtSecretKey is { Length: > 0 and < 32 })
        {
            return ValidateOptionsResult.Fail("JWT_SECRET_KEY must be at least 32 characters long.");
        }

        return ValidateOptionsResult.Success;
    }
}
