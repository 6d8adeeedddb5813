import { Migration } from '@mikro-orm/migrations';

export class Migration20261125145259 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "neuroflow_organizations" ("id" uuid not null, "name" varchar(200) not null, "slug" varchar(100) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_organizations_pkey" primary key ("id"));`);
    this.addSql(`alter table "neuroflow_organizations" add constraint "neuroflow_organizations_slug_unique" unique ("slug");`);

    this.addSql(`create table "neuroflow_users" ("id" uuid not null, "email" varchar(320) not null, "name" varchar(200) not null, "password_hash" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_users_pkey" primary key ("id"));`);
    this.addSql(`alter table "neuroflow_users" add constraint "neuroflow_users_email_unique" unique ("email");`);

    this.addSql(`create table "neuroflow_memberships" ("id" uuid not null, "organization_id" uuid not null, "user_id" uuid not null, "role" text check ("role" in ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_memberships_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_memberships_organization_id_index" on "neuroflow_memberships" ("organization_id");`);
    this.addSql(`create index "neuroflow_memberships_user_id_index" on "neuroflow_memberships" ("user_id");`);
    this.addSql(`alter table "neuroflow_memberships" add constraint "neuroflow_memberships_organization_id_user_id_unique" unique ("organization_id", "user_id");`);

    this.addSql(`create table "neuroflow_ai_agents" ("id" uuid not null, "organization_id" uuid not null, "name" varchar(200) not null, "description" text null, "personality" jsonb not null, "model_config" jsonb not null, "capabilities" jsonb not null, "memory" jsonb not null, "status" text check ("status" in ('IDLE', 'BUSY', 'OFFLINE', 'ERROR')) not null default 'IDLE', "is_active" boolean not null default true, "created_by_id" uuid null, "total_executions" int not null default 0, "success_rate" double precision not null default 0, "avg_response_time" double precision not null default 0, "last_active_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_ai_agents_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_ai_agents_organization_id_index" on "neuroflow_ai_agents" ("organization_id");`);
    this.addSql(`create index "neuroflow_ai_agents_status_index" on "neuroflow_ai_agents" ("status");`);
    this.addSql(`create index "neuroflow_ai_agents_is_active_index" on "neuroflow_ai_agents" ("is_active");`);
    this.addSql(`create index "neuroflow_ai_agents_created_by_id_index" on "neuroflow_ai_agents" ("created_by_id");`);
    this.addSql(`create index "neuroflow_ai_agents_organization_id_status_index" on "neuroflow_ai_agents" ("organization_id", "status");`);

    this.addSql(`create table "neuroflow_agent_executions" ("id" uuid not null, "organization_id" uuid not null, "agent_id" uuid not null, "task" text not null, "status" text check ("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')) not null default 'PENDING', "input" jsonb not null, "output" jsonb null, "error" jsonb null, "prompt_tokens" int not null default 0, "completion_tokens" int not null default 0, "tokens_used" int not null default 0, "cost" double precision not null default 0, "provider" varchar(50) null, "model" varchar(200) null, "worker_id" varchar(200) null, "started_at" timestamptz null, "completed_at" timestamptz null, "duration" int null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_agent_executions_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_agent_executions_organization_id_index" on "neuroflow_agent_executions" ("organization_id");`);
    this.addSql(`create index "neuroflow_agent_executions_agent_id_index" on "neuroflow_agent_executions" ("agent_id");`);
    this.addSql(`create index "neuroflow_agent_executions_status_index" on "neuroflow_agent_executions" ("status");`);
    this.addSql(`create index "neuroflow_agent_executions_started_at_index" on "neuroflow_agent_executions" ("started_at");`);
    this.addSql(`create index "neuroflow_agent_executions_organization_id_status_index" on "neuroflow_agent_executions" ("organization_id", "status");`);
    this.addSql(`create index "neuroflow_agent_executions_organization_id_created_at_index" on "neuroflow_agent_executions" ("organization_id", "created_at");`);
    this.addSql(`create index "neuroflow_agent_executions_agent_id_created_at_index" on "neuroflow_agent_executions" ("agent_id", "created_at");`);

    this.addSql(`alter table "neuroflow_memberships" add constraint "neuroflow_memberships_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_memberships" add constraint "neuroflow_memberships_user_id_foreign" foreign key ("user_id") references "neuroflow_users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "neuroflow_ai_agents" add constraint "neuroflow_ai_agents_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_ai_agents" add constraint "neuroflow_ai_agents_created_by_id_foreign" foreign key ("created_by_id") references "neuroflow_users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "neuroflow_agent_executions" add constraint "neuroflow_agent_executions_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_agent_executions" add constraint "neuroflow_agent_executions_agent_id_foreign" foreign key ("agent_id") references "neuroflow_ai_agents" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "neuroflow_memberships" drop constraint "neuroflow_memberships_organization_id_foreign";`);

    this.addSql(`alter table "neuroflow_ai_agents" drop constraint "neuroflow_ai_agents_organization_id_foreign";`);

    this.addSql(`alter table "neuroflow_agent_executions" drop constraint "neuroflow_agent_executions_organization_id_foreign";`);

    this.addSql(`alter table "neuroflow_memberships" drop constraint "neuroflow_memberships_user_id_foreign";`);

    this.addSql(`alter table "neuroflow_ai_agents" drop constraint "neuroflow_ai_agents_created_by_id_foreign";`);

    this.addSql(`alter table "neuroflow_agent_executions" drop constraint "neuroflow_agent_executions_agent_id_foreign";`);

    this.addSql(`drop table if exists "neuroflow_organizations" cascade;`);

    this.addSql(`drop table if exists "neuroflow_users" cascade;`);

    this.addSql(`drop table if exists "neuroflow_memberships" cascade;`);

    this.addSql(`drop table if exists "neuroflow_ai_agents" cascade;`);

    this.addSql(`drop table if exists "neuroflow_agent_executions" cascade;`);
  }

}
