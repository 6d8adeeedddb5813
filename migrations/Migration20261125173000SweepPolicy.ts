import { Migration } from "@mikro-orm/migrations";

/**
 * The task sweeper (control-plane/dispatch/sweeper.ts) looks across organizations for executions
 * that stopped moving, so it can publish them again. Only the system role, only reading, and only
 * in a transaction that opted in with `set_config('app.sweep', 'on', true)`: every other unit of
 * work keeps seeing one organization. Permissive policies are OR'ed with the tenant ones.
 * Written by hand: the schema generator knows nothing of policies.
 */
const policy = `create policy sweep_system on neuroflow_agent_executions for select to %I
  using (current_setting('app.sweep', true) = 'on')`;

export class Migration20261125173000SweepPolicy extends Migration {
  override async up(): Promise<void> {
    this.addSql(`do $$ begin execute format('${policy.replaceAll("'", "''")}', current_database() || '_system'); end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop policy if exists sweep_system on neuroflow_agent_executions;`);
  }
}
