import { Migration } from '@mikro-orm/migrations';

export class Migration20261125151633 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "neuroflow_integrations" ("id" uuid not null, "organization_id" uuid not null, "provider" text check ("provider" in ('SLACK', 'GMAIL', 'WEBHOOK', 'HTTP')) not null, "name" varchar(200) not null, "config" jsonb not null, "encrypted_credentials" text null, "status" text check ("status" in ('CONNECTED', 'DISCONNECTED', 'ERROR', 'TESTING')) not null default 'DISCONNECTED', "last_tested_at" timestamptz null, "last_error" text null, "created_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_integrations_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_integrations_organization_id_index" on "neuroflow_integrations" ("organization_id");`);
    this.addSql(`create index "neuroflow_integrations_provider_index" on "neuroflow_integrations" ("provider");`);
    this.addSql(`create index "neuroflow_integrations_status_index" on "neuroflow_integrations" ("status");`);
    this.addSql(`create index "neuroflow_integrations_created_by_id_index" on "neuroflow_integrations" ("created_by_id");`);
    this.addSql(`create index "neuroflow_integrations_organization_id_status_index" on "neuroflow_integrations" ("organization_id", "status");`);

    this.addSql(`create table "neuroflow_api_keys" ("id" uuid not null, "organization_id" uuid not null, "name" varchar(200) not null, "prefix" varchar(32) not null, "secret_hash" varchar(64) not null, "role" text check ("role" in ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')) not null default 'MEMBER', "created_by_id" uuid null, "last_used_at" timestamptz null, "expires_at" timestamptz null, "revoked_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_api_keys_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_api_keys_organization_id_index" on "neuroflow_api_keys" ("organization_id");`);
    this.addSql(`alter table "neuroflow_api_keys" add constraint "neuroflow_api_keys_secret_hash_unique" unique ("secret_hash");`);
    this.addSql(`create index "neuroflow_api_keys_created_by_id_index" on "neuroflow_api_keys" ("created_by_id");`);

    this.addSql(`create table "neuroflow_agent_teams" ("id" uuid not null, "organization_id" uuid not null, "name" varchar(200) not null, "description" text null, "structure" text check ("structure" in ('HIERARCHICAL', 'COLLABORATIVE', 'PIPELINE', 'DEMOCRATIC')) not null, "coordination" jsonb not null, "is_active" boolean not null default true, "created_by_id" uuid null, "total_executions" int not null default 0, "success_rate" double precision not null default 0, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_agent_teams_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_agent_teams_organization_id_index" on "neuroflow_agent_teams" ("organization_id");`);
    this.addSql(`create index "neuroflow_agent_teams_structure_index" on "neuroflow_agent_teams" ("structure");`);
    this.addSql(`create index "neuroflow_agent_teams_created_by_id_index" on "neuroflow_agent_teams" ("created_by_id");`);
    this.addSql(`create index "neuroflow_agent_teams_organization_id_created_at_index" on "neuroflow_agent_teams" ("organization_id", "created_at");`);

    this.addSql(`create table "neuroflow_team_members" ("id" uuid not null, "organization_id" uuid not null, "team_id" uuid not null, "agent_id" uuid not null, "role" text check ("role" in ('LEADER', 'WORKER', 'COORDINATOR', 'SPECIALIST')) not null default 'WORKER', "priority" int not null default 0, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_team_members_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_team_members_organization_id_index" on "neuroflow_team_members" ("organization_id");`);
    this.addSql(`create index "neuroflow_team_members_team_id_index" on "neuroflow_team_members" ("team_id");`);
    this.addSql(`create index "neuroflow_team_members_agent_id_index" on "neuroflow_team_members" ("agent_id");`);
    this.addSql(`alter table "neuroflow_team_members" add constraint "neuroflow_team_members_team_id_agent_id_unique" unique ("team_id", "agent_id");`);

    this.addSql(`create table "neuroflow_team_executions" ("id" uuid not null, "organization_id" uuid not null, "team_id" uuid not null, "structure" text check ("structure" in ('HIERARCHICAL', 'COLLABORATIVE', 'PIPELINE', 'DEMOCRATIC')) not null, "coordination" jsonb not null, "status" text check ("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')) not null default 'PENDING', "input" jsonb not null, "output" jsonb null, "error" jsonb null, "agent_participation" jsonb not null, "results" jsonb not null, "log" jsonb not null, "tokens_used" int not null default 0, "cost" double precision not null default 0, "started_at" timestamptz null, "completed_at" timestamptz null, "duration" int null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_team_executions_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_team_executions_organization_id_index" on "neuroflow_team_executions" ("organization_id");`);
    this.addSql(`create index "neuroflow_team_executions_team_id_index" on "neuroflow_team_executions" ("team_id");`);
    this.addSql(`create index "neuroflow_team_executions_status_index" on "neuroflow_team_executions" ("status");`);
    this.addSql(`create index "neuroflow_team_executions_started_at_index" on "neuroflow_team_executions" ("started_at");`);
    this.addSql(`create index "neuroflow_team_executions_organization_id_status_index" on "neuroflow_team_executions" ("organization_id", "status");`);
    this.addSql(`create index "neuroflow_team_executions_organization_id_created_at_index" on "neuroflow_team_executions" ("organization_id", "created_at");`);
    this.addSql(`create index "neuroflow_team_executions_team_id_created_at_index" on "neuroflow_team_executions" ("team_id", "created_at");`);

    this.addSql(`create table "neuroflow_workflow_templates" ("id" uuid not null, "organization_id" uuid null, "name" varchar(200) not null, "description" text null, "category" text check ("category" in ('SALES', 'SUPPORT', 'MARKETING', 'DATA_PROCESSING', 'AUTOMATION', 'ANALYTICS', 'CONTENT', 'COMMUNICATION')) not null, "difficulty" text check ("difficulty" in ('BEGINNER', 'INTERMEDIATE', 'ADVANCED', 'EXPERT')) not null default 'BEGINNER', "nodes" jsonb not null, "edges" jsonb not null, "tags" jsonb not null, "is_public" boolean not null default false, "is_system" boolean not null default false, "is_featured" boolean not null default false, "usage_count" int not null default 0, "rating" double precision not null default 0, "rating_count" int not null default 0, "created_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_workflow_templates_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_workflow_templates_organization_id_index" on "neuroflow_workflow_templates" ("organization_id");`);
    this.addSql(`create index "neuroflow_workflow_templates_category_index" on "neuroflow_workflow_templates" ("category");`);
    this.addSql(`create index "neuroflow_workflow_templates_is_public_index" on "neuroflow_workflow_templates" ("is_public");`);
    this.addSql(`create index "neuroflow_workflow_templates_is_featured_index" on "neuroflow_workflow_templates" ("is_featured");`);
    this.addSql(`create index "neuroflow_workflow_templates_created_by_id_index" on "neuroflow_workflow_templates" ("created_by_id");`);
    this.addSql(`create index "neuroflow_workflow_templates_is_public_category_index" on "neuroflow_workflow_templates" ("is_public", "category");`);
    this.addSql(`create index "neuroflow_workflow_templates_is_featured_usage_count_index" on "neuroflow_workflow_templates" ("is_featured", "usage_count");`);

    this.addSql(`create table "neuroflow_workflows" ("id" uuid not null, "organization_id" uuid not null, "name" varchar(200) not null, "description" text null, "nodes" jsonb not null, "edges" jsonb not null, "settings" jsonb not null, "is_active" boolean not null default true, "version" int not null default 1, "tags" jsonb not null, "template_id" uuid null, "created_by_id" uuid null, "execution_count" int not null default 0, "last_executed_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_workflows_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_workflows_organization_id_index" on "neuroflow_workflows" ("organization_id");`);
    this.addSql(`create index "neuroflow_workflows_template_id_index" on "neuroflow_workflows" ("template_id");`);
    this.addSql(`create index "neuroflow_workflows_created_by_id_index" on "neuroflow_workflows" ("created_by_id");`);
    this.addSql(`create index "neuroflow_workflows_organization_id_created_at_index" on "neuroflow_workflows" ("organization_id", "created_at");`);
    this.addSql(`create index "neuroflow_workflows_organization_id_is_active_index" on "neuroflow_workflows" ("organization_id", "is_active");`);

    this.addSql(`create table "neuroflow_workflow_executions" ("id" uuid not null, "organization_id" uuid not null, "workflow_id" uuid not null, "status" text check ("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')) not null default 'PENDING', "input" jsonb not null, "output" jsonb null, "error" jsonb null, "logs" jsonb not null, "started_at" timestamptz null, "completed_at" timestamptz null, "duration" int null, "tokens_used" int not null default 0, "cost" double precision not null default 0, "triggered_by" varchar(200) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_workflow_executions_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_workflow_executions_organization_id_index" on "neuroflow_workflow_executions" ("organization_id");`);
    this.addSql(`create index "neuroflow_workflow_executions_workflow_id_index" on "neuroflow_workflow_executions" ("workflow_id");`);
    this.addSql(`create index "neuroflow_workflow_executions_status_index" on "neuroflow_workflow_executions" ("status");`);
    this.addSql(`create index "neuroflow_workflow_executions_started_at_index" on "neuroflow_workflow_executions" ("started_at");`);
    this.addSql(`create index "neuroflow_workflow_executions_organization_id_status_index" on "neuroflow_workflow_executions" ("organization_id", "status");`);
    this.addSql(`create index "neuroflow_workflow_executions_organization_id_created_at_index" on "neuroflow_workflow_executions" ("organization_id", "created_at");`);
    this.addSql(`create index "neuroflow_workflow_executions_workflow_id_created_at_index" on "neuroflow_workflow_executions" ("workflow_id", "created_at");`);

    this.addSql(`alter table "neuroflow_integrations" add constraint "neuroflow_integrations_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_integrations" add constraint "neuroflow_integrations_created_by_id_foreign" foreign key ("created_by_id") references "neuroflow_users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "neuroflow_api_keys" add constraint "neuroflow_api_keys_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_api_keys" add constraint "neuroflow_api_keys_created_by_id_foreign" foreign key ("created_by_id") references "neuroflow_users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "neuroflow_agent_teams" add constraint "neuroflow_agent_teams_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_agent_teams" add constraint "neuroflow_agent_teams_created_by_id_foreign" foreign key ("created_by_id") references "neuroflow_users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "neuroflow_team_members" add constraint "neuroflow_team_members_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_team_members" add constraint "neuroflow_team_members_team_id_foreign" foreign key ("team_id") references "neuroflow_agent_teams" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_team_members" add constraint "neuroflow_team_members_agent_id_foreign" foreign key ("agent_id") references "neuroflow_ai_agents" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "neuroflow_team_executions" add constraint "neuroflow_team_executions_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_team_executions" add constraint "neuroflow_team_executions_team_id_foreign" foreign key ("team_id") references "neuroflow_agent_teams" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "neuroflow_workflow_templates" add constraint "neuroflow_workflow_templates_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_workflow_templates" add constraint "neuroflow_workflow_templates_created_by_id_foreign" foreign key ("created_by_id") references "neuroflow_users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "neuroflow_workflows" add constraint "neuroflow_workflows_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_workflows" add constraint "neuroflow_workflows_template_id_foreign" foreign key ("template_id") references "neuroflow_workflow_templates" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "neuroflow_workflows" add constraint "neuroflow_workflows_created_by_id_foreign" foreign key ("created_by_id") references "neuroflow_users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "neuroflow_workflow_executions" add constraint "neuroflow_workflow_executions_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_workflow_executions" add constraint "neuroflow_workflow_executions_workflow_id_foreign" foreign key ("workflow_id") references "neuroflow_workflows" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "neuroflow_agent_executions" add column "workflow_execution_id" uuid null;`);
    this.addSql(`alter table "neuroflow_agent_executions" add constraint "neuroflow_agent_executions_workflow_execution_id_foreign" foreign key ("workflow_execution_id") references "neuroflow_workflow_executions" ("id") on update cascade on delete set null;`);
    this.addSql(`create index "neuroflow_agent_executions_workflow_execution_id_index" on "neuroflow_agent_executions" ("workflow_execution_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "neuroflow_team_members" drop constraint "neuroflow_team_members_team_id_foreign";`);

    this.addSql(`alter table "neuroflow_team_executions" drop constraint "neuroflow_team_executions_team_id_foreign";`);

    this.addSql(`alter table "neuroflow_workflows" drop constraint "neuroflow_workflows_template_id_foreign";`);

    this.addSql(`alter table "neuroflow_workflow_executions" drop constraint "neuroflow_workflow_executions_workflow_id_foreign";`);

    this.addSql(`alter table "neuroflow_agent_executions" drop constraint "neuroflow_agent_executions_workflow_execution_id_foreign";`);

    this.addSql(`drop table if exists "neuroflow_integrations" cascade;`);

    this.addSql(`drop table if exists "neuroflow_api_keys" cascade;`);

    this.addSql(`drop table if exists "neuroflow_agent_teams" cascade;`);

    this.addSql(`drop table if exists "neuroflow_team_members" cascade;`);

    this.addSql(`drop table if exists "neuroflow_team_executions" cascade;`);

    this.addSql(`drop table if exists "neuroflow_workflow_templates" cascade;`);

    this.addSql(`drop table if exists "neuroflow_workflows" cascade;`);

    this.addSql(`drop table if exists "neuroflow_workflow_executions" cascade;`);

    this.addSql(`drop index "neuroflow_agent_executions_workflow_execution_id_index";`);
    this.addSql(`alter table "neuroflow_agent_executions" drop column "workflow_execution_id";`);
  }

}
