/**
 * The layer rules of DESIGN §3: domain libraries never import infrastructure or persistence,
 * libraries never import apps, apps never import each other.
 */
const DOMAIN = '^libs/(core|channels|bots|auth)/';

module.exports = {
  forbidden: [
    {
      name: 'domain-no-infrastructure',
      comment:
        'Domain libs (core, channels, bots, auth) stay free of TypeORM, NATS, Express and persistence.',
      severity: 'error',
      from: { path: DOMAIN, pathNot: '\\.(int-|e2e-)?spec\\.ts$' },
      to: { path: ['node_modules/(typeorm|pg|@nats-io|express|@nestjs)/', '^libs/persistence/'] },
    },
    {
      name: 'core-depends-on-nothing',
      comment: 'libs/core is the bottom layer.',
      severity: 'error',
      from: { path: '^libs/core/' },
      to: { path: '^libs/(?!core/)' },
    },
    {
      name: 'libs-not-apps',
      comment: 'Libraries never import applications.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-not-each-other',
      comment: 'Applications never import each other.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'no-deep-lib-imports',
      comment:
        'Other code reaches a library only through its index (the # import), never a deep path.',
      severity: 'error',
      from: { path: '^(apps|libs|bench)/', pathNot: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/(?!index\\.ts$)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      conditionNames: ['source', 'import', 'require', 'node', 'default'],
      exportsFields: ['exports'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
