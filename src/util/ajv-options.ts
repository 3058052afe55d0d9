// One set of ajv options for build-time (standalone) and run-time compilation.
export const AJV_OPTIONS = {
  allErrors: true,
  useDefaults: true,
  verbose: true,
  strict: true,
  allowUnionTypes: true,
} as const;
