import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'principals' })
export class PrincipalEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @PrimaryColumn({ name: 'id', type: 'text' })
  id!: string;

  @Column({ name: 'kind', type: 'text' })
  kind!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
