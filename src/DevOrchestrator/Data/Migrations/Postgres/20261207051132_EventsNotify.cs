using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DevOrchestrator.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class EventsNotify : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Wakes the event hub of every process that serves streams (EventNotificationListener): NOTIFY is delivered at
            // commit, once per transaction (identical notifications of one transaction are folded into one), never for a
            // rolled-back one. Per statement, so a batch of events costs one call.
            migrationBuilder.Sql("""
                CREATE FUNCTION devorch_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('devorch_events', '');
                    RETURN NULL;
                END
                $$;
                CREATE TRIGGER events_notify AFTER INSERT ON events
                    FOR EACH STATEMENT EXECUTE FUNCTION devorch_notify_events();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS events_notify ON events; DROP FUNCTION IF EXISTS devorch_notify_events();");
        }
    }
}
