import { Migration } from "@mikro-orm/migrations";

/**
 * The team run sweeper (control-plane/dispatch/team-run-sweeper.ts) looks across organizations for
 * team executions left RUNNING past their deadline, whose control plane died before recording
 * their end. The same opt-in as the task sweeper's policy (Migration20261125173000SweepPolicy):
 * only the system role, only reading, only in a transaction that set `app.sweep`.
 * Written by hand: the schema generator knows nothing of policies.
 */
const policy = `create policy sweep_system on neuroflow_team_executions for select to %I
  using (current_setting('app.sweep', true) = 'on')`;

export class Migration20261126020000TeamSweepPolicy extends Migration {
  override async up(): Promise<void> {
    this.addSql(`do $$ begin execute format('${policy.replaceAll("'", "''")}', current_database() || '_system'); end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop policy if exists sweep_system on neuroflow_team_executions;`);
  }
}
