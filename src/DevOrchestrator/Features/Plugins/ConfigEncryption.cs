using System.Security.Cryptography;
using System.Text;
using DevOrchestrator.Data;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// AES-256-GCM for values kept in the database (stored plugin configuration, a Slack <c>response_url</c>). The key is
/// derived with HKDF-SHA256 from <c>ENCRYPTION_KEY</c>. On the embedded default (SQLite, one process) an unset
/// <c>ENCRYPTION_KEY</c> is replaced by a random key kept in <c>DATA_DIR/encryption.key</c> (owner-only); with
/// PostgreSQL every replica must share the key, so it must be set. With <c>ENCRYPTION_KEY_PREVIOUS</c> set, a value that
/// does not decrypt with the current key is decrypted with the previous one (a key rotation rolling out, docs/security.md);
/// new values are always encrypted with the current key.
/// </summary>
public sealed class ConfigEncryption
{
    private const string Prefix = "v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] s_info = Encoding.UTF8.GetBytes("devorch stored configuration v1");
    private readonly Lazy<byte[]?> _key;
    private readonly Lazy<byte[]?> _previousKey;

    public ConfigEncryption(IOptions<PluginOptions> plugins, IOptions<DatabaseOptions> database)
    {
        _key = new(() => DeriveKey(plugins.Value, database.Value));
        _previousKey = new(() => string.IsNullOrEmpty(plugins.Value.EncryptionKeyPrevious) ? null : DeriveKey(plugins.Value.EncryptionKeyPrevious));
    }

    private ConfigEncryption(string secret)
    {
        _key = new(DeriveKey(secret));
        _previousKey = new((byte[]?)null);
    }

    /// <summary>An encryption with <paramref name="secret"/> as its only key (the new key of <c>devorch secrets rotate-key</c>).</summary>
    public static ConfigEncryption WithKey(string secret) => new(secret);

    /// <summary>Whether values can be encrypted (a key is set, or can be kept in DATA_DIR).</summary>
    public bool IsAvailable => _key.Value is not null;

    public string Encrypt(string plaintext)
    {
        var key = _key.Value ?? throw new ConfigEncryptionException("ENCRYPTION_KEY is not set: it is needed to store secrets in a shared (PostgreSQL) database. Set ENCRYPTION_KEY to a long random string, the same on every replica.");
        var data = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceSize + TagSize + data.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, data, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize));
        return Prefix + Convert.ToBase64String(output);
    }

    public string Decrypt(string stored) => Decrypt(stored, out _);

    /// <summary>Decrypts <paramref name="stored"/>; <paramref name="withPreviousKey"/> tells that it needed <c>ENCRYPTION_KEY_PREVIOUS</c>.</summary>
    public string Decrypt(string stored, out bool withPreviousKey)
    {
        withPreviousKey = false;
        var key = _key.Value ?? throw new ConfigEncryptionException("ENCRYPTION_KEY is not set, so stored configuration cannot be read.");
        if (!stored.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new ConfigEncryptionException("a stored value is not in the expected encrypted format");
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(stored[Prefix.Length..]);
        }
        catch (FormatException ex)
        {
            throw new ConfigEncryptionException("a stored value is corrupt", ex);
        }

        if (bytes.Length < NonceSize + TagSize)
        {
            throw new ConfigEncryptionException("a stored value is corrupt");
        }

        var plain = new byte[bytes.Length - NonceSize - TagSize];
        if (TryDecrypt(key, bytes, plain))
        {
            return Encoding.UTF8.GetString(plain);
        }

        if (_previousKey.Value is { } previous && TryDecrypt(previous, bytes, plain))
        {
            withPreviousKey = true;
            return Encoding.UTF8.GetString(plain);
        }

        throw new ConfigEncryptionException(_previousKey.Value is null
            ? "a stored value cannot be decrypted with this ENCRYPTION_KEY (was the key changed?)"
            : "a stored value cannot be decrypted with this ENCRYPTION_KEY nor with ENCRYPTION_KEY_PREVIOUS (was the key changed?)");
    }

    private static bool TryDecrypt(byte[] key, byte[] bytes, byte[] plain)
    {
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(bytes.AsSpan(0, NonceSize), bytes.AsSpan(NonceSize + TagSize), bytes.AsSpan(NonceSize, TagSize), plain);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private static byte[]? DeriveKey(PluginOptions plugins, DatabaseOptions database)
    {
        var secret = plugins.EncryptionKey;
        if (string.IsNullOrEmpty(secret))
        {
            if (database.UsesPostgres)
            {
                return null;
            }

            secret = LocalKey(Path.Combine(database.FullDataDir, "encryption.key"));
        }

        return DeriveKey(secret);
    }

    private static byte[] DeriveKey(string secret) => HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, salt: [], info: s_info);

    private static string LocalKey(string path)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var temporary = path + "." + Guid.NewGuid().ToString("N");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(key);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException)
        {
            // Another process made it first: use theirs.
            File.Delete(temporary);
        }

        return File.ReadAllText(path).Trim();
    }
}
