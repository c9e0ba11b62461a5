using System.IdentityModel.Tokens.Jwt;
using System.Security.Cryptography;
using System.Text;
using DevOrchestrator.Hosting;
using Microsoft.IdentityModel.Tokens;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// The key that signs and checks tokens: <c>JWT_SECRET_KEY</c>, or on a non-production install a random key generated
/// once into <c>DATA_DIR/jwt_secret</c> (mode 0600) so that tokens survive restarts and the CLI can issue them.
/// </summary>
public sealed class JwtSigningKey(SymmetricSecurityKey key)
{
    public const string Issuer = "devorch";
    public const string Audience = "devorch";

    public SymmetricSecurityKey Key { get; } = key;

    public static JwtSigningKey Resolve(AuthOptions auth, ServerOptions server)
    {
        if (!string.IsNullOrWhiteSpace(auth.JwtSecretKey))
        {
            return new JwtSigningKey(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(auth.JwtSecretKey)));
        }

        if (server.IsProduction)
        {
            throw new SettingsException(["JWT_SECRET_KEY must be set when ENVIRONMENT=production (at least 32 characters)."]);
        }

        var path = Path.Combine(server.FullDataDir, "jwt_secret");
        Directory.CreateDirectory(server.FullDataDir);
        if (!File.Exists(path))
        {
            // Written to a private temporary file and renamed into place, so that a process starting at the same time
            // (the CLI next to the server) never reads a half-written key: the first rename wins, the others use it.
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(Encoding.UTF8.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(48))));
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temp);
            }
        }

        return new JwtSigningKey(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(File.ReadAllText(path).Trim())));
    }

    public TokenValidationParameters ValidationParameters() => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = Key,
        ValidateIssuerSigningKey = true,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ClockSkew = TimeSpan.FromSeconds(30),
        RoleClaimType = TokenIssuer.RoleClaim,
        NameClaimType = JwtRegisteredClaimNames.Email,
    };
}
