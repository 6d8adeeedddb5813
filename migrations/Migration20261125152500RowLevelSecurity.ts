import { Migration } from "@mikro-orm/migrations";

/**
 * Tenant isolation enforced by Postgres. Two login roles, named after the database so several
 * databases in one cluster (tests) never share them, neither superuser nor owner:
 *   <db>_app     — user requests: a row is visible only when its organization is `app.org_id`
 *                  AND `app.user_id` is a member of it;
 *   <db>_system  — internal writers (status ledger, seeding): `app.org_id` only.
 * Both get their settings per transaction (`set_config(…, true)`), so a pooled connection never
 * carries a tenant into the next unit of work. `nullif(…, '')` because a setting once set reads
 * back as '' (not NULL) after its transaction ends. The migrating user owns the tables and must
 * bypass RLS (superuser or BYPASSRLS), as the membership check runs with its rights.
 * Written by hand: the schema generator knows nothing of roles and policies.
 */
const tenantTables = [
  "neuroflow_api_keys",
  "neuroflow_ai_agents",
  "neuroflow_agent_executions",
  "neuroflow_workflows",
  "neuroflow_workflow_executions",
  "neuroflow_agent_teams",
  "neuroflow_team_members",
  "neuroflow_team_executions",
  "neuroflow_integrations",
];
const allTables = [...tenantTables, "neuroflow_organizations", "neuroflow_users", "neuroflow_memberships", "neuroflow_workflow_templates"];
const member = "organization_id = neuroflow_current_org() and neuroflow_is_member(organization_id)";
const sameOrg = "organization_id = neuroflow_current_org()";

/** Runs `sql` with %1$I = the app role and %2$I = the system role. */
const withRoles = (sql: string) =>
  `do $$ begin execute format(${quote(sql)}, current_database() || '_app', current_database() || '_system'); end $$;`;
function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export class Migration20261125152500RowLevelSecurity extends Migration {
  override async up(): Promise<void> {
    for (const suffix of ["_app", "_system"]) {
      this.addSql(`do $$ begin
        if not exists (select from pg_roles where rolname = current_database() || '${suffix}') then
          execute format('create role %I nologin nosuperuser nocreatedb nocreaterole nobypassrls', current_database() || '${suffix}');
        end if;
      end $$;`);
    }
    this.addSql(withRoles("grant usage on schema public to %1$I, %2$I"));
    this.addSql(withRoles(`grant select, insert, update, delete on ${allTables.join(", ")} to %1$I, %2$I`));

    this.addSql(`create or replace function neuroflow_current_org() returns uuid language sql stable
      as $$ select nullif(current_setting('app.org_id', true), '')::uuid $$;`);
    this.addSql(`create or replace function neuroflow_current_user() returns uuid language sql stable
      as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;`);
    // security definer: reads memberships with the owner's rights, so policies on memberships
    // itself can call it without recursing into their own check.
    this.addSql(`create or replace function neuroflow_is_member(org uuid) returns boolean language sql stable
      security definer set search_path = public
      as $$ select exists (select 1 from neuroflow_memberships m where m.organization_id = org and m.user_id = neuroflow_current_user()) $$;`);
    this.addSql(withRoles("grant execute on function neuroflow_current_org(), neuroflow_current_user(), neuroflow_is_member(uuid) to %1$I, %2$I"));

    for (const table of allTables) {
      this.addSql(`alter table ${table} enable row level security;`);
      this.addSql(`alter table ${table} force row level security;`);
    }
    for (const table of tenantTables) {
      this.addSql(withRoles(`create policy tenant_app on ${table} to %1$I using (${member}) with check (${member})`));
      this.addSql(withRoles(`create policy tenant_system on ${table} to %2$I using (${sameOrg}) with check (${sameOrg})`));
    }

    // Memberships: a user sees their own (to pick an org), and members see their org's.
    this.addSql(withRoles(`create policy membership_app_read on neuroflow_memberships for select to %1$I
      using (user_id = neuroflow_current_user() or (${member}))`));
    for (const command of ["insert", "update", "delete"]) {
      const clause = command === "insert" ? `with check (${member})` : command === "update" ? `using (${member}) with check (${member})` : `using (${member})`;
      this.addSql(withRoles(`create policy membership_app_${command} on neuroflow_memberships for ${command} to %1$I ${clause}`));
    }
    this.addSql(withRoles(`create policy membership_system on neuroflow_memberships to %2$I using (${sameOrg}) with check (${sameOrg})`));

    // Organizations: members read theirs and may change the current one; creating one is a system act.
    this.addSql(withRoles(`create policy organization_app_read on neuroflow_organizations for select to %1$I using (neuroflow_is_member(id))`));
    this.addSql(withRoles(`create policy organization_app_update on neuroflow_organizations for update to %1$I
      using (id = neuroflow_current_org() and neuroflow_is_member(id)) with check (id = neuroflow_current_org() and neuroflow_is_member(id))`));
    this.addSql(withRoles(`create policy organization_app_delete on neuroflow_organizations for delete to %1$I
      using (id = neuroflow_current_org() and neuroflow_is_member(id))`));
    this.addSql(withRoles(`create policy organization_system on neuroflow_organizations to %2$I using (true) with check (true)`));

    // Users: yourself, and the members of the current org; accounts are created by the system role.
    this.addSql(withRoles(`create policy user_app_read on neuroflow_users for select to %1$I using (
      id = neuroflow_current_user()
      or exists (select 1 from neuroflow_memberships m where m.user_id = neuroflow_users.id and m.organization_id = neuroflow_current_org()))`));
    this.addSql(withRoles(`create policy user_app_update on neuroflow_users for update to %1$I
      using (id = neuroflow_current_user()) with check (id = neuroflow_current_user())`));
    this.addSql(withRoles(`create policy user_system on neuroflow_users to %2$I using (true) with check (true)`));

    // Templates: public and system ones (organization_id null) are readable by every org and
    // writable by none through the app role; an org's own are like any tenant row.
    this.addSql(withRoles(`create policy template_app_read on neuroflow_workflow_templates for select to %1$I
      using (is_public or organization_id is null or (${member}))`));
    for (const command of ["insert", "update", "delete"]) {
      const clause = command === "insert" ? `with check (${member})` : command === "update" ? `using (${member}) with check (${member})` : `using (${member})`;
      this.addSql(withRoles(`create policy template_app_${command} on neuroflow_workflow_templates for ${command} to %1$I ${clause}`));
    }
    this.addSql(withRoles(`create policy template_system on neuroflow_workflow_templates to %2$I
      using (organization_id is null or ${sameOrg}) with check (organization_id is null or ${sameOrg})`));
  }

  override async down(): Promise<void> {
    for (const table of allTables) {
      this.addSql(`do $$ declare p record; begin
        for p in select policyname from pg_policies where schemaname = 'public' and tablename = '${table}' loop
          execute format('drop policy %I on ${table}', p.policyname);
        end loop;
      end $$;`);
      this.addSql(`alter table ${table} no force row level security;`);
      this.addSql(`alter table ${table} disable row level security;`);
    }
    this.addSql("drop function if exists neuroflow_is_member(uuid);");
    this.addSql("drop function if exists neuroflow_current_user();");
    this.addSql("drop function if exists neuroflow_current_org();");
    // Roles are cluster-wide: drop what they hold in this database first.
    for (const suffix of ["_app", "_system"]) {
      this.addSql(`do $$ begin
        if exists (select from pg_roles where rolname = current_database() || '${suffix}') then
          execute format('drop owned by %I', current_database() || '${suffix}');
          execute format('drop role %I', current_database() || '${suffix}');
        end if;
      end $$;`);
    }
  }
}
