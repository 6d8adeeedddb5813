import { Migration } from "@mikro-orm/migrations";

/**
 * Row-level security for neuroflow_experiments, exactly as Migration20261125152500RowLevelSecurity
 * does for every tenant table: enabled and forced, `tenant_app` (the org in `app.org_id` and the
 * user a member of it) for the app role, `tenant_system` (the org in `app.org_id`) for the system
 * role, and table grants to both. Written by hand: the schema generator knows nothing of policies.
 */
const table = "neuroflow_experiments";
const member = "organization_id = neuroflow_current_org() and neuroflow_is_member(organization_id)";
const sameOrg = "organization_id = neuroflow_current_org()";

/** Runs `sql` with %1$I = the app role and %2$I = the system role. */
const withRoles = (sql: string) =>
  `do $$ begin execute format(${quote(sql)}, current_database() || '_app', current_database() || '_system'); end $$;`;
function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export class Migration20261125180325ExperimentsRowLevelSecurity extends Migration {
  override async up(): Promise<void> {
    this.addSql(withRoles(`grant select, insert, update, delete on ${table} to %1$I, %2$I`));
    this.addSql(`alter table ${table} enable row level security;`);
    this.addSql(`alter table ${table} force row level security;`);
    this.addSql(withRoles(`create policy tenant_app on ${table} to %1$I using (${member}) with check (${member})`));
    this.addSql(withRoles(`create policy tenant_system on ${table} to %2$I using (${sameOrg}) with check (${sameOrg})`));
  }

  override async down(): Promise<void> {
    this.addSql(`drop policy if exists tenant_system on ${table};`);
    this.addSql(`drop policy if exists tenant_app on ${table};`);
    this.addSql(`alter table ${table} no force row level security;`);
    this.addSql(`alter table ${table} disable row level security;`);
    this.addSql(withRoles(`revoke select, insert, update, delete on ${table} from %1$I, %2$I`));
  }
}
