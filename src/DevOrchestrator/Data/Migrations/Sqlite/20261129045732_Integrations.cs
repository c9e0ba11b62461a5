using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DevOrchestrator.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Integrations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "reply_to",
                table: "tasks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "external_effects",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    key = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    task_id = table.Column<long>(type: "INTEGER", nullable: true),
                    plugin = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    operation = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    result = table.Column<string>(type: "TEXT", nullable: true),
                    error = table.Column<string>(type: "TEXT", nullable: true),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    updated_at = table.Column<long>(type: "INTEGER", nullable: false),
                    completed_at = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_external_effects", x => x.id);
                    table.ForeignKey(
                        name: "fk_external_effects_tasks_task_id",
                        column: x => x.task_id,
                        principalTable: "tasks",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "plugin_configs",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    type = table.Column<string>(type: "TEXT", maxLength: 50, nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    encrypted_values = table.Column<string>(type: "TEXT", nullable: false),
                    updated_by_user_id = table.Column<long>(type: "INTEGER", nullable: true),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    updated_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_plugin_configs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "webhook_deliveries",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    source = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    delivery_id = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    @event = table.Column<string>(name: "event", type: "TEXT", maxLength: 100, nullable: true),
                    outcome = table.Column<string>(type: "TEXT", maxLength: 30, nullable: false),
                    task_id = table.Column<long>(type: "INTEGER", nullable: true),
                    received_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhook_deliveries", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_external_effects_key",
                table: "external_effects",
                column: "key",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_external_effects_task_id_operation",
                table: "external_effects",
                columns: new[] { "task_id", "operation" });

            migrationBuilder.CreateIndex(
                name: "ix_plugin_configs_type_name",
                table: "plugin_configs",
                columns: new[] { "type", "name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_received_at",
                table: "webhook_deliveries",
                column: "received_at");

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_source_delivery_id",
                table: "webhook_deliveries",
                columns: new[] { "source", "delivery_id" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "external_effects");

            migrationBuilder.DropTable(
                name: "plugin_configs");

            migrationBuilder.DropTable(
                name: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "reply_to",
                table: "tasks");
        }
    }
}
