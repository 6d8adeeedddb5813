import { Migration } from '@mikro-orm/migrations';

export class Migration20261125180324 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "neuroflow_experiments" ("id" uuid not null, "organization_id" uuid not null, "created_by_id" uuid null, "name" varchar(200) not null, "spec" jsonb not null, "status" text check ("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')) not null default 'PENDING', "progress" jsonb not null, "results" jsonb null, "error" jsonb null, "started_at" timestamptz null, "completed_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "neuroflow_experiments_pkey" primary key ("id"));`);
    this.addSql(`create index "neuroflow_experiments_organization_id_created_at_index" on "neuroflow_experiments" ("organization_id", "created_at");`);

    this.addSql(`alter table "neuroflow_experiments" add constraint "neuroflow_experiments_organization_id_foreign" foreign key ("organization_id") references "neuroflow_organizations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "neuroflow_experiments" add constraint "neuroflow_experiments_created_by_id_foreign" foreign key ("created_by_id") references "neuroflow_users" ("id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "neuroflow_experiments" cascade;`);
  }

}
