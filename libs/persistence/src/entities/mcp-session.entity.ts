import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An MCP session: only its SHA-256 is stored, so a database read never yields a live id. */
@Entity({ name: 'mcp_sessions' })
export class McpSessionEntity {
  @PrimaryColumn({ name: 'id_hash', type: 'text' })
  idHash!: string;

  @Column({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @Column({ name: 'principal_id', type: 'text' })
  principalId!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
