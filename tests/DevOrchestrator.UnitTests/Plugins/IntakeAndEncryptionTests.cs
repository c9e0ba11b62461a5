using DevOrchestrator.Data;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Features.Webhooks;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.UnitTests.Plugins;

public sealed class IntakeAndEncryptionTests
{
    [Theory]
    [InlineData("https://github.com/Acme/App", "github.com/acme/app")]
    [InlineData("https://github.com/acme/app.git", "github.com/acme/app")]
    [InlineData("https://github.com/acme/app/", "github.com/acme/app")]
    [InlineData("git@github.com:acme/app.git", "github.com/acme/app")]
    [InlineData("https://www.github.com/acme/app", "github.com/acme/app")]
    [InlineData("http://127.0.0.1:8123/acme/app.git", "127.0.0.1:8123/acme/app")]
    [InlineData("https://ghe.example.com/team/service", "ghe.example.com/team/service")]
    public void Repository_urls_that_name_the_same_repository_map_to_one_key(string url, string key) =>
        Assert.Equal(key, TaskIntake.RepositoryKey(url));

    [Fact]
    public void Different_repositories_or_hosts_do_not_map_together()
    {
        Assert.NotEqual(TaskIntake.RepositoryKey("https://github.com/acme/app"), TaskIntake.RepositoryKey("https://github.com/acme/app2"));
        Assert.NotEqual(TaskIntake.RepositoryKey("https://github.com/acme/app"), TaskIntake.RepositoryKey("https://gitlab.com/acme/app"));
    }

    [Theory]
    [InlineData(10, "* * * * *")]
    [InlineData(60, "* * * * *")]
    [InlineData(300, "*/5 * * * *")]
    [InlineData(330, "*/6 * * * *")]
    [InlineData(7200, "0 */2 * * *")]
    public void The_poll_interval_becomes_a_cron_of_whole_minutes(int seconds, string cron) =>
        Assert.Equal(cron, JiraIntakeSchedule.Cron(seconds));

    [Fact]
    public void Stored_values_round_trip_and_a_tampered_or_foreign_value_is_refused()
    {
        var encryption = new ConfigEncryption(Options.Create(new PluginOptions { EncryptionKey = "a key for the unit tests, long enough" }), Options.Create(new DatabaseOptions()));
        var sealed1 = encryption.Encrypt("""{"GITHUB_TOKEN":"value"}""");
        var sealed2 = encryption.Encrypt("""{"GITHUB_TOKEN":"value"}""");

        Assert.StartsWith("v1:", sealed1, StringComparison.Ordinal);
        Assert.DoesNotContain("value", sealed1, StringComparison.Ordinal);
        Assert.NotEqual(sealed1, sealed2); // a fresh nonce each time
        Assert.Equal("""{"GITHUB_TOKEN":"value"}""", encryption.Decrypt(sealed1));

        var bytes = Convert.FromBase64String(sealed1[3..]);
        bytes[^1] ^= 1;
        Assert.Throws<ConfigEncryptionException>(() => encryption.Decrypt("v1:" + Convert.ToBase64String(bytes)));
        Assert.Throws<ConfigEncryptionException>(() => encryption.Decrypt("plain text"));

        var other = new ConfigEncryption(Options.Create(new PluginOptions { EncryptionKey = "another key, also long enough" }), Options.Create(new DatabaseOptions()));
        var ex = Assert.Throws<ConfigEncryptionException>(() => other.Decrypt(sealed1));
        Assert.Contains("ENCRYPTION_KEY", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_ENCRYPTION_KEY_PREVIOUS_a_value_of_the_old_key_still_decrypts_and_new_values_use_the_current_key()
    {
        const string oldKey = "the old key of the rotation unit test";
        const string newKey = "the new key of the rotation unit test";
        var underOld = ConfigEncryption.WithKey(oldKey).Encrypt("{\"GITHUB_TOKEN\":\"old\"}");
        var rolling = new ConfigEncryption(Options.Create(new PluginOptions { EncryptionKey = newKey, EncryptionKeyPrevious = oldKey }), Options.Create(new DatabaseOptions()));

        Assert.Equal("{\"GITHUB_TOKEN\":\"old\"}", rolling.Decrypt(underOld, out var withPrevious));
        Assert.True(withPrevious);
        var written = rolling.Encrypt("written during the roll-out");
        Assert.Equal("written during the roll-out", ConfigEncryption.WithKey(newKey).Decrypt(written));
        Assert.Equal("written during the roll-out", rolling.Decrypt(written, out withPrevious));
        Assert.False(withPrevious);

        // Without the previous key the old value is refused; a value of neither key is refused naming both settings.
        var newOnly = new ConfigEncryption(Options.Create(new PluginOptions { EncryptionKey = newKey }), Options.Create(new DatabaseOptions()));
        Assert.Throws<ConfigEncryptionException>(() => newOnly.Decrypt(underOld));
        var foreign = ConfigEncryption.WithKey("a third key, neither of them").Encrypt("x");
        var ex = Assert.Throws<ConfigEncryptionException>(() => rolling.Decrypt(foreign));
        Assert.Contains("ENCRYPTION_KEY_PREVIOUS", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_key_on_PostgreSQL_nothing_can_be_stored_and_the_message_says_why()
    {
        var encryption = new ConfigEncryption(Options.Create(new PluginOptions()), Options.Create(new DatabaseOptions { DatabaseUrl = "postgresql://u:p@localhost/db" }));
        Assert.False(encryption.IsAvailable);
        var ex = Assert.Throws<ConfigEncryptionException>(() => encryption.Encrypt("x"));
        Assert.Contains("ENCRYPTION_KEY", ex.Message, StringComparison.Ordinal);
    }
}
