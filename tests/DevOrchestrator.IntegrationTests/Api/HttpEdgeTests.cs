using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>
/// The HTTP edge on real hosts (Kestrel on loopback): body limits per route by Content-Length and by chunked bodies
/// counted as read, the security headers on every kind of answer, forwarded headers believed from trusted proxies only
/// (rate limit partition, logged address, scheme and host), HTTPS redirection and HSTS, a real <c>devorch serve</c>
/// answering over TLS with a PEM and a PFX certificate made at test time, and the CORS allow-list.
/// </summary>
public sealed class HttpEdgeTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Bodies_above_the_route_limit_are_413_in_the_envelope_whether_declared_or_chunked_and_nothing_is_stored(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, settings: new Dictionary<string, string?>
        {
            ["API_MAX_BODY_BYTES"] = "4096",
            ["WEBHOOK_MAX_BODY_BYTES"] = "16384",
            ["GITHUB_WEBHOOK_SECRET"] = "edge-test-secret",
        }, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);

        var declared = await PostOnNewConnectionAsync(service, client, "/api/v1/tasks", Json(TaskOfSize(5000)), ct);
        await AssertTooLargeAsync(declared, "API_MAX_BODY_BYTES", "4 KiB (4096 bytes)");
        var chunked = await PostOnNewConnectionAsync(service, client, "/api/v1/tasks", Chunked(TaskOfSize(50_000), "application/json"), ct);
        await AssertTooLargeAsync(chunked, "API_MAX_BODY_BYTES", "4 KiB (4096 bytes)");
        var text = await PostOnNewConnectionAsync(service, client, "/api/v1/tasks", new StringContent(new string('x', 5000), Encoding.UTF8, "text/plain"), ct);
        await AssertTooLargeAsync(text, "API_MAX_BODY_BYTES", "4 KiB (4096 bytes)");

        // Below the limit, chunked or not, the request goes through.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/v1/tasks", Json(TaskOfSize(3000)), ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/api/v1/tasks", Chunked(TaskOfSize(3000), "application/json"), ct)).StatusCode);

        // Webhooks have their own, larger limit: 10 KB is read (and refused for its signature), 20 KB is not.
        var signedWrong = new StringContent("{\"zen\": \"" + new string('z', 10_000) + "\"}", Encoding.UTF8, "application/json");
        signedWrong.Headers.Add("X-Hub-Signature-256", "sha256=" + new string('0', 64));
        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.PostAsync("/webhooks/github", signedWrong, ct)).StatusCode);
        var bigHook = await PostOnNewConnectionAsync(service, service.Client, "/webhooks/github", Json("{\"zen\": \"" + new string('z', 20_000) + "\"}"), ct);
        await AssertTooLargeAsync(bigHook, "WEBHOOK_MAX_BODY_BYTES", "16 KiB (16384 bytes)");
        var chunkedHook = await PostOnNewConnectionAsync(service, service.Client, "/webhooks/github", Chunked("{\"zen\": \"" + new string('z', 40_000) + "\"}", "application/json"), ct);
        await AssertTooLargeAsync(chunkedHook, "WEBHOOK_MAX_BODY_BYTES", "16 KiB (16384 bytes)");

        Assert.Equal(2, await service.WithDbAsync(d => d.Tasks.CountAsync(ct)));
    }

    [Fact]
    public async Task Every_answer_carries_the_security_headers_and_no_server_header()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?>
        {
            ["API_MAX_BODY_BYTES"] = "1024",
            ["HSTS_MAX_AGE_SECONDS"] = "600",
        }, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);

        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["health"] = await service.Client.GetAsync("/health/live", ct),
            ["json 200"] = await client.GetAsync("/api/v1/tasks", ct),
            ["401"] = await service.Client.GetAsync("/api/v1/tasks", ct),
            ["404"] = await service.Client.GetAsync("/no/such/route", ct),
            ["400"] = await client.PostAsync("/api/v1/tasks", Json("{not json"), ct),
            ["413"] = await client.PostAsync("/api/v1/tasks", Json(TaskOfSize(2000)), ct),
            ["metrics"] = await service.Client.GetAsync("/metrics", ct),
            ["openapi"] = await service.Client.GetAsync("/openapi/v1.json", ct),
            ["docs"] = await service.Client.GetAsync("/docs", ct),
            ["redoc"] = await service.Client.GetAsync("/redoc", ct),
        };
        Assert.Equal([200, 200, 401, 404, 400, 413, 200, 200, 200, 200], answers.Values.Select(r => (int)r.StatusCode));
        foreach (var (what, response) in answers)
        {
            Assert.True(Header(response, "X-Content-Type-Options") == "nosniff", what);
            Assert.True(Header(response, "X-Frame-Options") == "DENY", what);
            Assert.True(Header(response, "Referrer-Policy") == "no-referrer", what);
            Assert.True(Header(response, "Cross-Origin-Opener-Policy") == "same-origin", what);
            Assert.True(Header(response, "Permissions-Policy") == SecurityHeaders.PermissionsPolicy, what);
            Assert.Contains("frame-ancestors 'none'", Header(response, "Content-Security-Policy"), StringComparison.Ordinal);
            Assert.False(response.Headers.Contains("Server"), what + ": Server header");
            // Plain HTTP: no HSTS even though it is configured.
            Assert.False(response.Headers.Contains("Strict-Transport-Security"), what + ": HSTS over HTTP");
        }

        foreach (var what in new[] { "health", "json 200", "401", "404", "400", "413", "metrics", "openapi" })
        {
            Assert.Equal(SecurityHeaders.StrictPolicy, Header(answers[what], "Content-Security-Policy"));
        }

        // /redoc: exactly its own inline script and style, by hash; the page still loads the document from this origin.
        var redoc = await answers["redoc"].Content.ReadAsStringAsync(ct);
        var redocPolicy = Header(answers["redoc"], "Content-Security-Policy");
        Assert.Contains($"script-src {Sha256(Regex.Match(redoc, "<script>(.*?)</script>", RegexOptions.Singleline).Groups[1].Value)};", redocPolicy, StringComparison.Ordinal);
        Assert.Contains($"style-src {Sha256(Regex.Match(redoc, "<style>(.*?)</style>", RegexOptions.Singleline).Groups[1].Value)};", redocPolicy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", redocPolicy, StringComparison.Ordinal);
        Assert.Contains("fetch('openapi.json')", redoc, StringComparison.Ordinal);

        // /docs (Scalar): every script it loads comes from this origin, which its policy allows.
        var docs = await answers["docs"].Content.ReadAsStringAsync(ct);
        Assert.Equal(SecurityHeaders.ScalarPolicy, Header(answers["docs"], "Content-Security-Policy"));
        var sources = Regex.Matches(docs, "<script[^>]* src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, s => Assert.False(s.Contains("//", StringComparison.Ordinal), $"/docs loads {s} from another origin"));
        foreach (var source in sources)
        {
            var script = await service.Client.GetAsync(new Uri(new Uri(service.Address, "/docs/"), source), ct);
            Assert.True(script.IsSuccessStatusCode, $"/docs script {source}: {(int)script.StatusCode}");
        }
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.0.0.0/8, 192.168.0.0/16", false)]
    public async Task Forwarded_headers_are_believed_from_trusted_proxies_only(string trustedProxies, bool trusted)
    {
        var ct = TestContext.Current.CancellationToken;
        var log = Path.Combine(Path.GetTempPath(), $"devorch-edge-{Guid.NewGuid():N}.log");
        var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?>
        {
            ["TRUSTED_PROXIES"] = trustedProxies,
            ["API_RATE_LIMIT_ANONYMOUS_PER_HOUR"] = "2",
            ["HSTS_MAX_AGE_SECONDS"] = "600",
            ["GITHUB_WEBHOOK_SECRET"] = "edge-test-secret",
            ["LOG_FILE"] = log,
        }, cancellationToken: ct);
        try
        {
            // The API rate limiter's per-IP window: the forwarded client's, or the connection's (127.0.0.1) for everybody.
            var first = await AnonymousStatusesAsync(service, "203.0.113.7", 3, ct);
            Assert.Equal([401, 401, 429], first);
            // A client that prepends its own entry does not choose its address: the trusted proxy's entry (the last) counts.
            var spoofed = await AnonymousStatusesAsync(service, "198.51.100.1, 203.0.113.7", 1, ct);
            Assert.Equal([429], spoofed);
            var other = await AnonymousStatusesAsync(service, "203.0.113.8", 1, ct);
            Assert.Equal(trusted ? [401] : [429], other);

            // The scheme: HTTPS at the proxy makes the request HTTPS here (HSTS), only when the proxy is trusted.
            using var proxied = new HttpRequestMessage(HttpMethod.Get, "/health/live");
            proxied.Headers.Add("X-Forwarded-For", "203.0.113.9");
            proxied.Headers.Add("X-Forwarded-Proto", "https");
            var answer = await service.Client.SendAsync(proxied, ct);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(trusted ? "max-age=600" : null, answer.Headers.TryGetValues("Strict-Transport-Security", out var hsts) ? hsts.Single() : null);

            // The logged address of a refused webhook.
            using var hook = new HttpRequestMessage(HttpMethod.Post, "/webhooks/github") { Content = Json("{}") };
            hook.Headers.Add("X-Forwarded-For", "198.51.100.99");
            hook.Headers.Add("X-Hub-Signature-256", "sha256=" + new string('0', 64));
            Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.SendAsync(hook, ct)).StatusCode);
            var logged = await HttpJson.EventuallyAsync(() => Task.FromResult(ReadShared(log)), t => t.Contains("bad signature", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            var line = logged.Split('\n').Single(l => l.Contains("bad signature", StringComparison.Ordinal));
            Assert.Contains(trusted ? "198.51.100.99" : "127.0.0.1", line, StringComparison.Ordinal);
            Assert.DoesNotContain(trusted ? "127.0.0.1" : "198.51.100.99", line, StringComparison.Ordinal);
        }
        finally
        {
            await service.DisposeAsync();
            File.Delete(log);
        }
    }

    [Fact]
    public async Task Https_redirect_sends_plain_http_to_https_at_the_forwarded_host_but_leaves_probes_and_proxied_https_alone()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?>
        {
            ["HTTPS_REDIRECT"] = "true",
            ["HTTPS_PORT"] = "8443",
            ["TRUSTED_PROXIES"] = "127.0.0.1",
        }, cancellationToken: ct);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = service.Address };

        var plain = await client.GetAsync("/redoc?x=1", ct);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, plain.StatusCode);
        Assert.Equal($"https://127.0.0.1:8443/redoc?x=1", plain.Headers.Location!.ToString());
        Assert.Equal("nosniff", Header(plain, "X-Content-Type-Options"));

        // The link is built from what the trusted proxy forwarded: the client's host.
        using var viaProxy = new HttpRequestMessage(HttpMethod.Get, "/redoc");
        viaProxy.Headers.Add("X-Forwarded-Host", "devorch.example.com");
        viaProxy.Headers.Add("X-Forwarded-Proto", "http");
        var redirected = await client.SendAsync(viaProxy, ct);
        Assert.Equal("https://devorch.example.com:8443/redoc", redirected.Headers.Location!.ToString());

        using var https = new HttpRequestMessage(HttpMethod.Get, "/redoc");
        https.Headers.Add("X-Forwarded-Proto", "https");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(https, ct)).StatusCode);

        // Probes and the scraper talk to the replica directly over HTTP.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/metrics", ct)).StatusCode);
    }

    [Theory]
    [InlineData("pem")]
    [InlineData("pfx")]
    public async Task Serve_answers_over_tls_with_the_certificate_named_by_the_kestrel_settings(string format)
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-tls-").FullName;
        using var certificate = SelfSignedCertificate();
        var environment = new Dictionary<string, string?>
        {
            ["ENVIRONMENT"] = "test",
            ["LOG_LEVEL"] = "warning",
            ["DATA_DIR"] = Path.Combine(root, "data"),
            ["WORKSPACES_DIR"] = Path.Combine(root, "workspaces"),
            ["WORKFLOWS_DIR"] = Path.Combine(root, "workflows"),
            ["JWT_SECRET_KEY"] = "test-secret-" + Guid.NewGuid().ToString("N"),
            ["HSTS_MAX_AGE_SECONDS"] = "600",
        };
        if (format == "pem")
        {
            File.WriteAllText(Path.Combine(root, "cert.pem"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(root, "key.pem"), certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
            environment["Kestrel__Certificates__Default__Path"] = Path.Combine(root, "cert.pem");
            environment["Kestrel__Certificates__Default__KeyPath"] = Path.Combine(root, "key.pem");
        }
        else
        {
            var password = "pfx-" + Guid.NewGuid().ToString("N");
            File.WriteAllBytes(Path.Combine(root, "cert.pfx"), certificate.Export(X509ContentType.Pkcs12, password));
            environment["Kestrel__Certificates__Default__Path"] = Path.Combine(root, "cert.pfx");
            environment["Kestrel__Certificates__Default__Password"] = password;
        }

        var port = FreePort();
        var start = DevorchProcess.StartInfo(["serve", "--urls", $"https://127.0.0.1:{port}"], environment, root);
        await using var process = new ServiceProcess(System.Diagnostics.Process.Start(start)!, new Uri($"https://127.0.0.1:{port}"));
        try
        {
            string? served = null;
            using var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, presented, _, _) => (served = presented?.Thumbprint) == certificate.Thumbprint,
            };
            using var client = new HttpClient(handler) { BaseAddress = process.Address, Timeout = TimeSpan.FromSeconds(10) };
            var live = await HttpJson.EventuallyAsync<HttpResponseMessage?>(async () =>
            {
                try
                {
                    return await client.GetAsync("/health/live", ct);
                }
                catch (HttpRequestException)
                {
                    return null;
                }
            }, r => r is not null || process.Process.HasExited, TimeSpan.FromSeconds(60));

            Assert.True(live is { StatusCode: HttpStatusCode.OK }, $"no answer over TLS; output:\n{process.Output}");
            Assert.Equal(certificate.Thumbprint, served);
            Assert.Equal("max-age=600", Header(live!, "Strict-Transport-Security"));
            Assert.Equal("nosniff", Header(live!, "X-Content-Type-Options"));
        }
        finally
        {
            await process.KillAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Cors_answers_preflights_for_listed_origins_only_and_is_silent_when_not_configured()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?>
        {
            ["CORS_ALLOWED_ORIGINS"] = "https://app.example.com, http://localhost:3000",
        }, cancellationToken: ct);

        var allowed = await service.Client.SendAsync(Preflight("https://app.example.com"), ct);
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal("https://app.example.com", Header(allowed, "Access-Control-Allow-Origin"));
        Assert.Contains("POST", Header(allowed, "Access-Control-Allow-Methods"), StringComparison.Ordinal);
        Assert.Contains("authorization", Header(allowed, "Access-Control-Allow-Headers"), StringComparison.OrdinalIgnoreCase);
        Assert.False(allowed.Headers.Contains("Access-Control-Allow-Credentials"));

        var refused = await service.Client.SendAsync(Preflight("https://evil.example.com"), ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
        var envelope = await refused.ReadJsonAsync();
        Assert.Equal("FORBIDDEN", (string?)envelope["error"]!["code"]);
        Assert.Contains("CORS_ALLOWED_ORIGINS", (string?)envelope["error"]!["message"], StringComparison.Ordinal);

        // A real request: the listed origin may read the answer and its request id; another origin gets no CORS header.
        var read = await service.Client.SendAsync(WithOrigin("http://localhost:3000"), ct);
        Assert.Equal("http://localhost:3000", Header(read, "Access-Control-Allow-Origin"));
        Assert.Contains("X-Request-Id", Header(read, "Access-Control-Expose-Headers"), StringComparison.OrdinalIgnoreCase);
        Assert.False((await service.Client.SendAsync(WithOrigin("https://evil.example.com"), ct)).Headers.Contains("Access-Control-Allow-Origin"));

        await using var plain = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        var noCors = await plain.Client.SendAsync(Preflight("https://app.example.com"), ct);
        Assert.NotEqual(HttpStatusCode.NoContent, noCors.StatusCode);
        Assert.DoesNotContain(noCors.Headers.Concat(noCors.Content.Headers), h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
        var noCorsGet = await plain.Client.SendAsync(WithOrigin("https://app.example.com"), ct);
        Assert.DoesNotContain(noCorsGet.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Each oversized request on a connection of its own: after a 413 for a body it did not read, Kestrel may close the
    /// connection, and a pooled connection closed that way cannot carry the next request's non-rewindable chunked body.
    /// </summary>
    private static async Task<HttpResponseMessage> PostOnNewConnectionAsync(ServiceUnderTest service, HttpClient like, string path, HttpContent content, CancellationToken ct)
    {
        using var fresh = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromSeconds(60) };
        fresh.DefaultRequestHeaders.Authorization = like.DefaultRequestHeaders.Authorization;
        var response = await fresh.PostAsync(path, content, ct);
        await response.Content.LoadIntoBufferAsync(ct);
        return response;
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/tasks");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        return request;
    }

    private static HttpRequestMessage WithOrigin(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/health");
        request.Headers.Add("Origin", origin);
        return request;
    }

    private static async Task<List<int>> AnonymousStatusesAsync(ServiceUnderTest service, string forwardedFor, int count, CancellationToken ct)
    {
        var statuses = new List<int>();
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tasks");
            request.Headers.Add("X-Forwarded-For", forwardedFor);
            statuses.Add((int)(await service.Client.SendAsync(request, ct)).StatusCode);
        }

        return statuses;
    }

    private static async Task AssertTooLargeAsync(HttpResponseMessage response, string setting, string limit)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.False((bool)body["success"]!);
        Assert.Equal("PAYLOAD_TOO_LARGE", (string?)body["error"]!["code"]);
        Assert.Contains(setting, (string?)body["error"]!["message"], StringComparison.Ordinal);
        Assert.Contains(limit, (string?)body["error"]!["message"], StringComparison.Ordinal);
        Assert.NotNull(body["error"]!["details"]!["body"]);
        Assert.NotNull(body["request_id"]);
    }

    private static string TaskOfSize(int bytes)
    {
        const string prefix = "{\"title\": \"t\", \"description\": \"";
        return prefix + new string('d', bytes - prefix.Length - 2) + "\"}";
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A body sent chunked: no Content-Length, so the server learns its size only by reading it.</summary>
    private static StreamContent Chunked(string text, string contentType)
    {
        var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(text)));
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values) : null;

    private static string Sha256(string text) => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text)))}'";

    private static string ReadShared(string path)
    {
        if (!File.Exists(path))
        {
            return string.Empty;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    /// <summary>A stream HttpClient cannot measure, so it sends the body with Transfer-Encoding: chunked.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
