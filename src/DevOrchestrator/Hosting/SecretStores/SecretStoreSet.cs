namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>
/// The secret stores the settings enable, each read once: made by <see cref="LoadAsync"/> before the host is built
/// (a store that cannot be read stops the start), added to the configuration above the environment, <c>.env</c> and
/// <c>NAME_FILE</c> files (<see cref="AddTo"/>), then refreshed by <see cref="SecretStoreRefresher"/>.
/// </summary>
public sealed class SecretStoreSet : IAsyncDisposable
{
    public const string HttpClientName = "secret-stores";

    private readonly ServiceProvider _http;

    private SecretStoreSet(ServiceProvider http, IReadOnlyList<SecretStoreConfiguration> stores)
    {
        _http = http;
        Stores = stores;
    }

    /// <summary>The configuration layer of each enabled store, in precedence order (a later one wins).</summary>
    public IReadOnlyList<SecretStoreConfiguration> Stores { get; }

    /// <summary>
    /// Reads the secret store settings from <paramref name="configuration"/> (the environment, <c>.env</c>, files) and
    /// each enabled store once. Throws <see cref="SettingsException"/> naming every bad setting, or every store that
    /// could not be read with its address, path and status.
    /// </summary>
    public static async Task<SecretStoreSet> LoadAsync(IConfiguration configuration, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = Read(configuration);
        var services = new ServiceCollection();
        services.AddHttpClient(HttpClientName).AddStandardResilienceHandler(o =>
        {
            o.Retry.Delay = TimeSpan.FromMilliseconds(500);
            o.AttemptTimeout.Timeout = TimeSpan.FromSeconds(10);
            o.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(30);
            o.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(30);
        });
        var http = services.BuildServiceProvider();
        var stores = new List<ISecretStore>();
        try
        {
            stores.AddRange(Create(options, http.GetRequiredService<IHttpClientFactory>(), timeProvider));
            var errors = new List<string>();
            var loaded = new List<SecretStoreConfiguration>();
            foreach (var store in stores)
            {
                try
                {
                    loaded.Add(new SecretStoreConfiguration(store, await store.ReadAsync(cancellationToken)));
                }
                catch (SecretStoreException ex)
                {
                    errors.Add(ex.Message);
                }
            }

            if (errors.Count > 0)
            {
                throw new SettingsException(errors);
            }

            return new SecretStoreSet(http, loaded);
        }
        catch
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }

            await http.DisposeAsync();
            throw;
        }
    }

    /// <summary>Adds each store's layer to <paramref name="configuration"/> (over every source added before).</summary>
    public void AddTo(IConfigurationBuilder configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        foreach (var store in Stores)
        {
            configuration.Add(store);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in Stores)
        {
            await store.Store.DisposeAsync();
        }

        await _http.DisposeAsync();
    }

    private static SecretStoreOptions Read(IConfiguration configuration)
    {
        var options = new SecretStoreOptions();
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new SettingsException([ex.Message]);
        }

        return new SecretStoreOptionsValidator().Validate(null, options) is { Failed: true } result ? throw new SettingsException([.. result.Failures]) : options;
    }

    private static IEnumerable<ISecretStore> Create(SecretStoreOptions options, IHttpClientFactory clients, TimeProvider timeProvider)
    {
        if (options.VaultEnabled)
        {
            yield return new VaultSecretStore(options, clients.CreateClient(HttpClientName), timeProvider);
        }

        if (options.AwsEnabled)
        {
            yield return new AwsSecretsManagerStore(options);
        }

        if (options.AzureEnabled)
        {
            yield return new AzureKeyVaultStore(options);
        }
    }
}
