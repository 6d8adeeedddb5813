import { randomUUID } from "node:crypto";
import { AgentTeam, AiAgent, Membership, Organization, TeamMember, User, type IAiAgent, type MembershipRole } from "../../entities/index.js";
import { teamDefinitionSchema, type ModelConfig, type Personality } from "../../runtime/protocol/index.js";
import { hashPassword } from "../auth/password.js";
import type { Database } from "./database.js";

export interface AgentSeed {
  name: string;
  description: string | null;
  personality: Personality;
  modelConfig: ModelConfig;
  capabilities: string[];
}

const simulated: ModelConfig = { provider: "simulated", model: "sim-1", temperature: 0.2, maxTokens: 512 };

/** The demo organization's agents: a small, recognisable cast for the console. */
export const demoAgents: AgentSeed[] = [
  { name: "Ada (Researcher)", description: "Finds and summarises sources.", personality: { tone: "precise", traits: ["curious", "thorough"] }, modelConfig: simulated, capabilities: ["search", "summarise"] },
  { name: "Grace (Planner)", description: "Breaks goals into steps.", personality: { tone: "structured", traits: ["pragmatic"] }, modelConfig: simulated, capabilities: ["plan", "estimate"] },
  { name: "Linus (Reviewer)", description: "Critiques drafts and code.", personality: { tone: "direct", traits: ["skeptical", "exacting"] }, modelConfig: simulated, capabilities: ["review"] },
  { name: "Hedy (Writer)", description: "Drafts clear prose.", personality: { tone: "warm", traits: ["concise"] }, modelConfig: simulated, capabilities: ["write", "edit"] },
  { name: "Alan (Analyst)", description: "Works through numbers.", personality: { tone: "calm", traits: ["rigorous"] }, modelConfig: simulated, capabilities: ["analyse", "calculate"] },
];

export const DEMO_LOGIN = { email: "demo@neuroflow.dev", password: "neuroflow-demo" } as const;

export interface SeededOrg {
  orgId: string;
  userId: string;
  agents: IAiAgent[];
}

/**
 * Creates an organization with one user (as `role`) and the given agents, in one transaction of
 * the system role scoped to the new org (its id is chosen first so row-level security admits the
 * rows). Tests use it to give each test its own organization.
 */
export async function createOrganization(
  db: Database,
  spec: { name: string; slug: string; user: { email: string; name: string; password: string }; role?: MembershipRole; agents: AgentSeed[] },
): Promise<SeededOrg> {
  const orgId = randomUUID();
  const passwordHash = await hashPassword(spec.user.password);
  return db.asSystem(orgId, async (em) => {
    const organization = em.create(Organization, { id: orgId, name: spec.name, slug: spec.slug });
    const user =
      (await em.findOne(User, { email: spec.user.email })) ?? em.create(User, { email: spec.user.email, name: spec.user.name, passwordHash });
    em.create(Membership, { organization, user, role: spec.role ?? "OWNER" });
    const agents = spec.agents.map((agent) => em.create(AiAgent, { organization, createdBy: user, ...agent, memory: {} }));
    await em.flush();
    return { orgId, userId: user.id, agents };
  });
}

/** Seeds the demo organization unless it exists. Idempotent: a restart keeps the data. */
export async function seedDemo(db: Database): Promise<{ created: boolean; orgId: string }> {
  const existing = await db.asSystem(null, (em) => em.findOne(Organization, { slug: "demo" }));
  if (existing) return { created: false, orgId: existing.id };
  const seeded = await createOrganization(db, {
    name: "Demo Organization",
    slug: "demo",
    user: { email: DEMO_LOGIN.email, name: "Demo User", password: DEMO_LOGIN.password },
    agents: demoAgents,
  });
  await seedDemoTeams(db, seeded);
  return { created: true, orgId: seeded.orgId };
}

/**
 * Two teams over the demo agents, one hierarchical and one democratic, checked by the same
 * schema the API uses so the demo never holds a team the API would refuse.
 */
async function seedDemoTeams(db: Database, org: SeededOrg): Promise<void> {
  const [ada, grace, linus, hedy, alan] = org.agents;
  if (!ada || !grace || !linus || !hedy || !alan) return;
  const teams = [
    {
      name: "Launch squad",
      description: "Grace plans and delegates; the others research, write and review.",
      definition: teamDefinitionSchema.parse({
        structure: "HIERARCHICAL",
        coordination: {},
        members: [
          { agentId: grace.id, role: "LEADER", priority: 10 },
          { agentId: ada.id, role: "SPECIALIST", priority: 5 },
          { agentId: hedy.id, role: "WORKER", priority: 3 },
          { agentId: linus.id, role: "WORKER", priority: 2 },
        ],
      }),
    },
    {
      name: "Review board",
      description: "Everyone answers, debates once, and the majority decides.",
      definition: teamDefinitionSchema.parse({
        structure: "DEMOCRATIC",
        coordination: { rule: { kind: "majority", quorum: 0.6, tieBreak: "random" }, debateRounds: 1 },
        members: org.agents.map((agent, index) => ({ agentId: agent.id, role: "WORKER", priority: index })),
      }),
    },
  ];
  await db.asSystem(org.orgId, async (em) => {
    for (const { name, description, definition } of teams) {
      const team = em.create(AgentTeam, {
        organization: org.orgId,
        name,
        description,
        structure: definition.structure,
        coordination: definition.coordination,
        createdBy: org.userId,
      });
      for (const member of definition.members) {
        em.create(TeamMember, { organization: org.orgId, team, agent: member.agentId, role: member.role, priority: member.priority });
      }
    }
    await em.flush();
  });
}
