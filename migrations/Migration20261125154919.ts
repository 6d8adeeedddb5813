import { Migration } from '@mikro-orm/migrations';

export class Migration20261125154919 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`drop index "neuroflow_memberships_organization_id_index";`);

    this.addSql(`drop index "neuroflow_integrations_organization_id_index";`);
    this.addSql(`drop index "neuroflow_integrations_provider_index";`);
    this.addSql(`drop index "neuroflow_integrations_status_index";`);

    this.addSql(`create index "neuroflow_integrations_organization_id_created_at_index" on "neuroflow_integrations" ("organization_id", "created_at");`);

    this.addSql(`drop index "neuroflow_ai_agents_is_active_index";`);
    this.addSql(`drop index "neuroflow_ai_agents_organization_id_index";`);
    this.addSql(`drop index "neuroflow_ai_agents_status_index";`);

    this.addSql(`create index "neuroflow_ai_agents_organization_id_created_at_index" on "neuroflow_ai_agents" ("organization_id", "created_at");`);

    this.addSql(`drop index "neuroflow_agent_teams_organization_id_index";`);
    this.addSql(`drop index "neuroflow_agent_teams_structure_index";`);

    this.addSql(`create index "neuroflow_agent_teams_organization_id_structure_index" on "neuroflow_agent_teams" ("organization_id", "structure");`);

    this.addSql(`drop index "neuroflow_team_members_organization_id_index";`);
    this.addSql(`drop index "neuroflow_team_members_team_id_index";`);

    this.addSql(`drop index "neuroflow_team_executions_organization_id_index";`);
    this.addSql(`drop index "neuroflow_team_executions_started_at_index";`);
    this.addSql(`drop index "neuroflow_team_executions_status_index";`);
    this.addSql(`drop index "neuroflow_team_executions_team_id_index";`);

    this.addSql(`drop index "neuroflow_workflow_templates_category_index";`);
    this.addSql(`drop index "neuroflow_workflow_templates_is_featured_index";`);
    this.addSql(`drop index "neuroflow_workflow_templates_is_public_index";`);

    this.addSql(`drop index "neuroflow_workflows_organization_id_index";`);

    this.addSql(`drop index "neuroflow_workflow_executions_organization_id_index";`);
    this.addSql(`drop index "neuroflow_workflow_executions_started_at_index";`);
    this.addSql(`drop index "neuroflow_workflow_executions_status_index";`);
    this.addSql(`drop index "neuroflow_workflow_executions_workflow_id_index";`);

    this.addSql(`drop index "neuroflow_agent_executions_agent_id_index";`);
    this.addSql(`drop index "neuroflow_agent_executions_organization_id_index";`);
    this.addSql(`drop index "neuroflow_agent_executions_started_at_index";`);
    this.addSql(`drop index "neuroflow_agent_executions_status_index";`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index "neuroflow_agent_executions_agent_id_index" on "neuroflow_agent_executions" ("agent_id");`);
    this.addSql(`create index "neuroflow_agent_executions_organization_id_index" on "neuroflow_agent_executions" ("organization_id");`);
    this.addSql(`create index "neuroflow_agent_executions_started_at_index" on "neuroflow_agent_executions" ("started_at");`);
    this.addSql(`create index "neuroflow_agent_executions_status_index" on "neuroflow_agent_executions" ("status");`);

    this.addSql(`drop index "neuroflow_agent_teams_organization_id_structure_index";`);

    this.addSql(`create index "neuroflow_agent_teams_organization_id_index" on "neuroflow_agent_teams" ("organization_id");`);
    this.addSql(`create index "neuroflow_agent_teams_structure_index" on "neuroflow_agent_teams" ("structure");`);

    this.addSql(`drop index "neuroflow_ai_agents_organization_id_created_at_index";`);

    this.addSql(`create index "neuroflow_ai_agents_is_active_index" on "neuroflow_ai_agents" ("is_active");`);
    this.addSql(`create index "neuroflow_ai_agents_organization_id_index" on "neuroflow_ai_agents" ("organization_id");`);
    this.addSql(`create index "neuroflow_ai_agents_status_index" on "neuroflow_ai_agents" ("status");`);

    this.addSql(`drop index "neuroflow_integrations_organization_id_created_at_index";`);

    this.addSql(`create index "neuroflow_integrations_organization_id_index" on "neuroflow_integrations" ("organization_id");`);
    this.addSql(`create index "neuroflow_integrations_provider_index" on "neuroflow_integrations" ("provider");`);
    this.addSql(`create index "neuroflow_integrations_status_index" on "neuroflow_integrations" ("status");`);

    this.addSql(`create index "neuroflow_memberships_organization_id_index" on "neuroflow_memberships" ("organization_id");`);

    this.addSql(`create index "neuroflow_team_executions_organization_id_index" on "neuroflow_team_executions" ("organization_id");`);
    this.addSql(`create index "neuroflow_team_executions_started_at_index" on "neuroflow_team_executions" ("started_at");`);
    this.addSql(`create index "neuroflow_team_executions_status_index" on "neuroflow_team_executions" ("status");`);
    this.addSql(`create index "neuroflow_team_executions_team_id_index" on "neuroflow_team_executions" ("team_id");`);

    this.addSql(`create index "neuroflow_team_members_organization_id_index" on "neuroflow_team_members" ("organization_id");`);
    this.addSql(`create index "neuroflow_team_members_team_id_index" on "neuroflow_team_members" ("team_id");`);

    this.addSql(`create index "neuroflow_workflow_executions_organization_id_index" on "neuroflow_workflow_executions" ("organization_id");`);
    this.addSql(`create index "neuroflow_workflow_executions_started_at_index" on "neuroflow_workflow_executions" ("started_at");`);
    this.addSql(`create index "neuroflow_workflow_executions_status_index" on "neuroflow_workflow_executions" ("status");`);
    this.addSql(`create index "neuroflow_workflow_executions_workflow_id_index" on "neuroflow_workflow_executions" ("workflow_id");`);

    this.addSql(`create index "neuroflow_workflow_templates_category_index" on "neuroflow_workflow_templates" ("category");`);
    this.addSql(`create index "neuroflow_workflow_templates_is_featured_index" on "neuroflow_workflow_templates" ("is_featured");`);
    this.addSql(`create index "neuroflow_workflow_templates_is_public_index" on "neuroflow_workflow_templates" ("is_public");`);

    this.addSql(`create index "neuroflow_workflows_organization_id_index" on "neuroflow_workflows" ("organization_id");`);
  }

}
