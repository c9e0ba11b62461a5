using System.Globalization;
using System.Text;

namespace DevOrchestrator.Bench;

/// <summary>
/// The repository of the token benchmark: a generated C# web service ("Shop") of realistic file sizes — 1–15 KB source
/// and test files, an 80 KB generated API client, markdown docs — and <c>scripts/test.sh</c>, a deterministic stand-in
/// for <c>dotnet test</c> whose output is as long as a real build-and-test log (≈90 KB: compiler warnings and one line
/// per test) and which fails until the change of <see cref="TokenTrajectory"/> is made. Everything is generated from a
/// fixed seed, so every run sees byte-identical files and tool outputs. The snippets the trajectory replaces
/// (<c>Anchor*</c>) occur exactly once.
/// </summary>
internal static class ShopRepository
{
    public const string PaymentClientPath = "src/Shop.Api/Payments/PaymentClient.cs";
    public const string PaymentOptionsPath = "src/Shop.Api/Payments/PaymentOptions.cs";
    public const string ProgramPath = "src/Shop.Api/Program.cs";
    public const string OrderServicePath = "src/Shop.Api/Orders/OrderService.cs";
    public const string GeneratedClientPath = "src/Shop.Api/Generated/ShopApiClient.g.cs";

    public const string AnchorCharge = """
            private readonly HttpClient _http;
            private readonly PaymentOptions _options;
            private readonly ILogger<PaymentClient> _logger;

            public PaymentClient(HttpClient http, IOptions<PaymentOptions> options, ILogger<PaymentClient> logger)
            {
                _http = http;
                _options = options.Value;
                _logger = logger;
            }

            /// <summary>Charges the customer's stored payment method; throws when the provider refuses or fails.</summary>
            public async Task<ChargeResult> ChargeAsync(ChargeRequest request, CancellationToken cancellationToken)
            {
                var response = await _http.PostAsJsonAsync("charges", request, cancellationToken);
                response.EnsureSuccessStatusCode();
                return (await response.Content.ReadFromJsonAsync<ChargeResult>(cancellationToken))!;
            }
        """;

    public const string AnchorTimeout = "    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);";

    public const string AnchorProgram = """builder.Services.Configure<PaymentOptions>(builder.Configuration.GetSection("Payments"));""";

    public const string AnchorTodo = """
                    // TODO: surface payment failures to the caller instead of swallowing them
                    _logger.LogWarning(ex, "Payment for order {OrderId} failed", order.Id);
                    return OrderResult.Failed("payment");
        """;

    public const string AnchorChangelog = "## Unreleased\n";

    private static readonly string[] s_nouns = ["Order", "Customer", "Invoice", "Shipment", "Product", "Cart", "Discount", "Address", "Refund", "Stock", "Warehouse", "Price", "Coupon", "Review", "Payment", "Basket", "Return", "Carrier", "Tax", "Receipt"];
    private static readonly string[] s_verbs = ["Get", "Find", "Load", "Validate", "Apply", "Create", "Update", "Cancel", "Reserve", "Release", "Calculate", "Merge", "Split", "Archive", "Refresh", "Publish", "Sync", "Resolve"];
    private static readonly string[] s_words = ["the", "order", "is", "kept", "when", "a", "customer", "pays", "for", "each", "line", "and", "its", "stock", "must", "be", "reserved", "before", "shipping", "so", "that", "two", "carts", "never", "sell", "same", "item", "twice", "we", "retry", "later", "if", "payment", "provider", "answers", "slowly", "prices", "are", "stored", "in", "cents", "tax", "depends", "on", "address", "country", "discounts", "apply", "once", "per", "refunds", "go", "back", "to", "original", "method", "invoice", "numbers", "increase", "without", "gaps"];

    /// <summary>Writes the files into <paramref name="directory"/> (created) and commits them.</summary>
    public static async Task CreateAsync(string directory, CancellationToken cancellationToken)
    {
        var random = new Random(20261129);
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["README.md"] = Markdown(random, "Shop", 3_500, ["Getting started", "Configuration", "Payments", "Testing", "Deployment"]),
            ["CHANGELOG.md"] = "# Changelog\n\n" + AnchorChangelog + "\n" + Markdown(random, "1.4.0", 1_800, ["Added", "Fixed"], heading: "##"),
            ["docs/architecture.md"] = Markdown(random, "Architecture", 8_000, ["Modules", "Orders", "Payments", "Inventory", "Catalog", "Persistence", "Failure handling"]),
            ["docs/payments.md"] = Markdown(random, "Payments", 5_000, ["Provider", "Charges", "Refunds", "Errors and retries", "Idempotency"]),
            [".editorconfig"] = "root = true\n\n[*]\nindent_style = space\nindent_size = 4\ninsert_final_newline = true\ncharset = utf-8\n\n[*.cs]\ndotnet_sort_system_directives_first = true\ncsharp_style_namespace_declarations = file_scoped:warning\n",
            [".gitignore"] = "bin/\nobj/\n*.user\n.vs/\nTestResults/\n",
            ["Directory.Build.props"] = "<Project>\n  <PropertyGroup>\n    <TargetFramework>net10.0</TargetFramework>\n    <Nullable>enable</Nullable>\n    <ImplicitUsings>enable</ImplicitUsings>\n    <TreatWarningsAsErrors>false</TreatWarningsAsErrors>\n  </PropertyGroup>\n</Project>\n",
            ["Shop.slnx"] = "<Solution>\n  <Project Path=\"src/Shop.Api/Shop.Api.csproj\" />\n  <Project Path=\"tests/Shop.Tests/Shop.Tests.csproj\" />\n</Solution>\n",
            ["src/Shop.Api/Shop.Api.csproj"] = "<Project Sdk=\"Microsoft.NET.Sdk.Web\">\n  <ItemGroup>\n    <PackageReference Include=\"Microsoft.Extensions.Http.Resilience\" Version=\"10.0.0\" />\n    <PackageReference Include=\"Npgsql.EntityFrameworkCore.PostgreSQL\" Version=\"10.0.0\" />\n  </ItemGroup>\n</Project>\n",
            [ProgramPath] = ProgramFile(random),
            [OrderServicePath] = CSharp(random, "Shop.Api.Orders", "OrderService", 14_000, OrderServiceHeader()),
            ["src/Shop.Api/Orders/OrderRepository.cs"] = CSharp(random, "Shop.Api.Orders", "OrderRepository", 8_000, null),
            ["src/Shop.Api/Orders/Order.cs"] = CSharp(random, "Shop.Api.Orders", "Order", 3_000, null),
            ["src/Shop.Api/Orders/OrderValidator.cs"] = CSharp(random, "Shop.Api.Orders", "OrderValidator", 6_000, null),
            [PaymentClientPath] = CSharp(random, "Shop.Api.Payments", "PaymentClient", 11_000, AnchorCharge),
            [PaymentOptionsPath] = PaymentOptionsFile(),
            ["src/Shop.Api/Payments/PaymentModels.cs"] = CSharp(random, "Shop.Api.Payments", "PaymentModels", 5_000, null),
            ["src/Shop.Api/Inventory/InventoryService.cs"] = CSharp(random, "Shop.Api.Inventory", "InventoryService", 9_000, null),
            ["src/Shop.Api/Inventory/StockLevel.cs"] = CSharp(random, "Shop.Api.Inventory", "StockLevel", 2_000, null),
            ["src/Shop.Api/Catalog/CatalogService.cs"] = CSharp(random, "Shop.Api.Catalog", "CatalogService", 10_000, null),
            ["src/Shop.Api/Catalog/Product.cs"] = CSharp(random, "Shop.Api.Catalog", "Product", 3_000, null),
            ["src/Shop.Api/Common/Clock.cs"] = CSharp(random, "Shop.Api.Common", "Clock", 1_500, null),
            ["src/Shop.Api/Common/Money.cs"] = CSharp(random, "Shop.Api.Common", "Money", 4_000, null),
            ["src/Shop.Api/Common/Result.cs"] = CSharp(random, "Shop.Api.Common", "Result", 2_500, null),
            ["src/Shop.Api/Common/ProblemDetailsMapper.cs"] = CSharp(random, "Shop.Api.Common", "ProblemDetailsMapper", 3_500, null),
            ["src/Shop.Api/appsettings.json"] = "{\n  \"Payments\": {\n    \"BaseUrl\": \"https://payments.example.com/v2/\",\n    \"Timeout\": \"00:00:30\"\n  },\n  \"ConnectionStrings\": {\n    \"Shop\": \"Host=localhost;Database=shop\"\n  }\n}\n",
            [GeneratedClientPath] = GeneratedClient(random, 80_000),
            ["tests/Shop.Tests/Shop.Tests.csproj"] = "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <ItemGroup>\n    <PackageReference Include=\"xunit.v3\" Version=\"3.2.0\" />\n    <ProjectReference Include=\"../../src/Shop.Api/Shop.Api.csproj\" />\n  </ItemGroup>\n</Project>\n",
            ["tests/Shop.Tests/OrderServiceTests.cs"] = CSharp(random, "Shop.Tests", "OrderServiceTests", 12_000, null),
            ["tests/Shop.Tests/PaymentClientTests.cs"] = CSharp(random, "Shop.Tests", "PaymentClientTests", 9_000, null),
            ["tests/Shop.Tests/InventoryServiceTests.cs"] = CSharp(random, "Shop.Tests", "InventoryServiceTests", 7_000, null),
            ["scripts/test.sh"] = TestScript,
        };

        foreach (var (path, content) in files)
        {
            var full = Path.Combine(directory, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllTextAsync(full, content, new UTF8Encoding(false), cancellationToken);
        }

        await BenchGit.InitAndCommitAsync(directory, "Shop 1.4.0", cancellationToken);
    }

    /// <summary>
    /// A stand-in for <c>dotnet build &amp;&amp; dotnet test</c>: restore lines, 150 compiler warnings from the generated
    /// client, one line per test (650), failures with stack traces while the change is missing, and the summary.
    /// </summary>
    private const string TestScript = """
        #!/bin/sh
        # Builds and tests the shop: the output of `dotnet build && dotnet test --logger "console;verbosity=normal"`.
        missing_retry=0
        missing_tests=0
        grep -q "RetryPolicy" src/Shop.Api/Payments/PaymentClient.cs || missing_retry=1
        [ -f tests/Shop.Tests/RetryPolicyTests.cs ] || missing_tests=1
        echo "  Determining projects to restore..."
        echo "  All projects are up-to-date for restore."
        seq 1 150 | awk '{ printf "/src/src/Shop.Api/Generated/ShopApiClient.g.cs(%d,%d): warning CS8618: Non-nullable property '\''Field%04d'\'' must contain a non-null value when exiting constructor. Consider adding the '\''required'\'' modifier or declaring the property as nullable. [/src/src/Shop.Api/Shop.Api.csproj]\n", $1 * 11, 23, $1 }'
        echo "  Shop.Api -> /src/src/Shop.Api/bin/Debug/net10.0/Shop.Api.dll"
        echo "  Shop.Tests -> /src/tests/Shop.Tests/bin/Debug/net10.0/Shop.Tests.dll"
        echo "Test run for /src/tests/Shop.Tests/bin/Debug/net10.0/Shop.Tests.dll (.NETCoreApp,Version=v10.0)"
        echo "A total of 1 test files matched the specified pattern."
        total=650
        [ "$missing_tests" = 0 ] && total=656
        seq 1 "$total" | awk '
          BEGIN { split("OrderServiceTests PaymentClientTests InventoryServiceTests CatalogServiceTests RetryPolicyTests", c, " ") }
          { k = ($1 <= 650) ? ($1 % 4) + 1 : 5; printf "  Passed Shop.Tests.%s.Scenario_%04d_behaves_as_specified [%d ms]\n", c[k], $1, ($1 * 37) % 91 + 1 }'
        failed=0
        if [ "$missing_retry" = 1 ]; then
          for t in Charge_is_retried_after_a_503 Charge_is_retried_after_a_timeout Charge_gives_up_after_the_configured_retries; do
            echo "  Failed Shop.Tests.PaymentClientTests.$t [212 ms]"
            echo "  Error Message:"
            echo "   Assert.Equal() Failure: Values differ"
            echo "Expected: 2"
            echo "Actual:   1"
            echo "  Stack Trace:"
            seq 1 12 | awk -v t="$t" '{ printf "     at Shop.Tests.PaymentClientTests.%s() in /src/tests/Shop.Tests/PaymentClientTests.cs:line %d\n--- End of stack trace from previous location ---\n", t, 40 + $1 * 3 }'
            failed=$((failed + 1))
          done
        elif [ "$missing_tests" = 1 ]; then
          echo "  Failed Shop.Tests.CoverageTests.Every_public_type_of_Payments_has_tests [3 ms]"
          echo "  Error Message:"
          echo "   RetryPolicy has no tests (expected tests/Shop.Tests/RetryPolicyTests.cs)"
          failed=1
        fi
        passed=$((total - failed))
        if [ "$failed" -gt 0 ]; then
          echo "Failed!  - Failed: $failed, Passed: $passed, Skipped: 0, Total: $total, Duration: 4 s - Shop.Tests.dll (net10.0)"
          exit 1
        fi
        echo "Passed!  - Failed: 0, Passed: $passed, Skipped: 0, Total: $total, Duration: 4 s - Shop.Tests.dll (net10.0)"
        """ + "\n";

    private static string ProgramFile(Random random)
    {
        var text = new StringBuilder("""
            using Shop.Api.Catalog;
            using Shop.Api.Inventory;
            using Shop.Api.Orders;
            using Shop.Api.Payments;

            var builder = WebApplication.CreateBuilder(args);
            builder.Services.AddProblemDetails();
            builder.Services.AddScoped<OrderService>();
            builder.Services.AddScoped<OrderRepository>();
            builder.Services.AddScoped<InventoryService>();
            builder.Services.AddScoped<CatalogService>();

            """);
        text.Append(AnchorProgram).Append('\n');
        text.Append("builder.Services.AddHttpClient<PaymentClient>(client => client.BaseAddress = new Uri(builder.Configuration[\"Payments:BaseUrl\"]!));\n\n");
        text.Append("var app = builder.Build();\napp.UseExceptionHandler();\n\n");
        foreach (var noun in s_nouns.Take(8))
        {
            var route = noun.ToLowerInvariant() + "s";
            text.Append(CultureInfo.InvariantCulture, $"app.MapGet(\"/api/{route}/{{id:long}}\", async (long id, {Pick(random, ["OrderService", "CatalogService", "InventoryService"])} service, CancellationToken ct) =>\n    await service.Get{noun}Async(id, ct) is {{ }} found ? Results.Ok(found) : Results.NotFound());\n");
        }

        text.Append("\napp.Run();\n\npublic partial class Program;\n");
        return text.ToString();
    }

    private static string PaymentOptionsFile() => $$"""
        namespace Shop.Api.Payments;

        /// <summary>Settings of the payment provider (section "Payments").</summary>
        public sealed class PaymentOptions
        {
            /// <summary>The provider's API root, ending with '/'.</summary>
            public Uri BaseUrl { get; set; } = new("https://payments.example.com/v2/");

            /// <summary>How long one request may take before it is abandoned.</summary>
        {{AnchorTimeout}}

            /// <summary>The merchant account charges are made for.</summary>
            public string MerchantId { get; set; } = "";

            /// <summary>Sent as the Idempotency-Key prefix so that a repeated charge is not billed twice.</summary>
            public string IdempotencyPrefix { get; set; } = "shop-";
        }

        """;

    private static string OrderServiceHeader() => """
            private readonly OrderRepository _orders;
            private readonly PaymentClient _payments;
            private readonly ILogger<OrderService> _logger;

            public OrderService(OrderRepository orders, PaymentClient payments, ILogger<OrderService> logger)
            {
                _orders = orders;
                _payments = payments;
                _logger = logger;
            }

            /// <summary>Charges an order and marks it paid; a failed charge leaves the order open.</summary>
            public async Task<OrderResult> PayAsync(Order order, CancellationToken cancellationToken)
            {
                try
                {
                    var charge = await _payments.ChargeAsync(new ChargeRequest(order.CustomerId, order.TotalCents, order.Currency, $"order-{order.Id}"), cancellationToken);
                    order.MarkPaid(charge.ChargeId);
                    await _orders.SaveAsync(order, cancellationToken);
                    return OrderResult.Paid(charge.ChargeId);
                }
                catch (HttpRequestException ex)
                {
        """ + "\n" + AnchorTodo + """

                }
            }
        """;

    /// <summary>A C# file of about <paramref name="size"/> bytes: a class whose members are generated after <paramref name="header"/>.</summary>
    private static string CSharp(Random random, string ns, string className, int size, string? header)
    {
        var text = new StringBuilder();
        text.Append("using System.Net.Http.Json;\nusing Microsoft.Extensions.Logging;\nusing Microsoft.Extensions.Options;\n\n");
        text.Append(CultureInfo.InvariantCulture, $"namespace {ns};\n\n/// <summary>{Sentence(random, 10)}</summary>\npublic sealed class {className}\n{{\n");
        if (header is not null)
        {
            text.Append(header).Append('\n');
        }

        while (text.Length < size - 200)
        {
            text.Append('\n').Append(Method(random));
        }

        text.Append("}\n");
        return text.ToString();
    }

    private static string Method(Random random)
    {
        var noun = Pick(random, s_nouns);
        var other = Pick(random, s_nouns);
        var verb = Pick(random, s_verbs);
        var parameter = char.ToLowerInvariant(noun[0]) + noun[1..];
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"    /// <summary>{Sentence(random, 8 + random.Next(8))}</summary>\n");
        text.Append(CultureInfo.InvariantCulture, $"    public async Task<{other}?> {verb}{noun}{other}Async({noun} {parameter}, CancellationToken cancellationToken)\n    {{\n");
        text.Append(CultureInfo.InvariantCulture, $"        ArgumentNullException.ThrowIfNull({parameter});\n");
        var statements = 2 + random.Next(6);
        for (var i = 0; i < statements; i++)
        {
            var local = char.ToLowerInvariant(other[0]) + other[1..] + i.ToString(CultureInfo.InvariantCulture);
            switch (random.Next(7))
            {
                case 0:
                    text.Append(CultureInfo.InvariantCulture, $"        var {local} = await Load{other}Async({parameter}.Id, cancellationToken);\n        if ({local} is null)\n        {{\n            return null;\n        }}\n\n");
                    break;
                case 1:
                    text.Append(CultureInfo.InvariantCulture, $"        foreach (var line in {parameter}.Lines)\n        {{\n            total += line.Quantity * line.UnitPriceCents;\n        }}\n\n");
                    break;
                case 2:
                    text.Append(CultureInfo.InvariantCulture, $"        // {Sentence(random, 6 + random.Next(10))}\n");
                    break;
                case 3:
                    text.Append(CultureInfo.InvariantCulture, $"        try\n        {{\n            await Publish{noun}ChangedAsync({parameter}, cancellationToken);\n        }}\n        catch ({Pick(random, ["HttpRequestException", "TaskCanceledException", "InvalidOperationException", "DbUpdateConcurrencyException"])} ex)\n        {{\n            logger.LogWarning(ex, \"{noun} {{Id}} could not be published\", {parameter}.Id);\n        }}\n\n");
                    break;
                case 4:
                    text.Append(CultureInfo.InvariantCulture, $"        if ({parameter}.Status == {noun}Status.{Pick(random, ["Cancelled", "Archived", "Pending", "Closed"])})\n        {{\n            throw new InvalidOperationException($\"{noun} {{{parameter}.Id}} cannot be changed in state {{{parameter}.Status}}\");\n        }}\n\n");
                    break;
                case 5:
                    text.Append(CultureInfo.InvariantCulture, $"        var {local}Count = await db.{other}s.CountAsync(x => x.{noun}Id == {parameter}.Id, cancellationToken);\n");
                    break;
                default:
                    if (random.Next(12) == 0)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"        // TODO: {Sentence(random, 6)}\n");
                    }

                    text.Append(CultureInfo.InvariantCulture, $"        {parameter}.UpdatedAt = clock.GetUtcNow();\n");
                    break;
            }
        }

        text.Append(CultureInfo.InvariantCulture, $"        return await Find{other}Async({parameter}.Id, cancellationToken);\n    }}\n");
        return text.ToString();
    }

    private static string GeneratedClient(Random random, int size)
    {
        var text = new StringBuilder("""
            //----------------------
            // <auto-generated>
            //     Generated using NSwag from https://payments.example.com/v2/openapi.json. Do not edit.
            // </auto-generated>
            //----------------------
            #nullable disable
            namespace Shop.Api.Generated;

            """);
        var index = 0;
        while (text.Length < size)
        {
            var noun = s_nouns[index % s_nouns.Length];
            index++;
            text.Append(CultureInfo.InvariantCulture, $"\n[System.CodeDom.Compiler.GeneratedCode(\"NJsonSchema\", \"11.0.0\")]\npublic partial class {noun}Dto{index:000}\n{{\n");
            var fields = 4 + random.Next(6);
            for (var f = 0; f < fields; f++)
            {
                var field = Pick(random, s_nouns) + Pick(random, ["Id", "Name", "Code", "Amount", "Count", "Date", "Status"]);
                var type = Pick(random, ["string", "long", "int", "System.DateTimeOffset", "decimal", "bool"]);
                text.Append(CultureInfo.InvariantCulture, $"    [System.Text.Json.Serialization.JsonPropertyName(\"{char.ToLowerInvariant(field[0]) + field[1..]}\")]\n    public {type} {field} {{ get; set; }}\n\n");
            }

            text.Append("}\n");
        }

        return text.ToString();
    }

    private static string Markdown(Random random, string title, int size, string[] sections, string heading = "#")
    {
        var text = new StringBuilder(heading + " " + title + "\n\n");
        var section = 0;
        while (text.Length < size)
        {
            text.Append(CultureInfo.InvariantCulture, $"{heading}# {sections[section % sections.Length]}\n\n");
            section++;
            var paragraphs = 1 + random.Next(3);
            for (var p = 0; p < paragraphs; p++)
            {
                var sentences = 3 + random.Next(4);
                for (var s = 0; s < sentences; s++)
                {
                    text.Append(Sentence(random, 8 + random.Next(12))).Append(' ');
                }

                text.Length--;
                text.Append("\n\n");
            }

            if (random.Next(3) == 0)
            {
                text.Append("- ").Append(Sentence(random, 6)).Append("\n- ").Append(Sentence(random, 7)).Append("\n\n");
            }
        }

        return text.ToString();
    }

    private static string Sentence(Random random, int words)
    {
        var text = new StringBuilder();
        for (var i = 0; i < words; i++)
        {
            var word = Pick(random, s_words);
            text.Append(i == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : " " + word);
        }

        return text.Append('.').ToString();
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];
}
