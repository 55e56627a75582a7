// Resolves this repository's own packages (@wagate/protocol, @wagate/client) to their TypeScript
// sources, like `node --conditions=@wagate/source`: the gateway runs through tsx with no build step.
// Published packages never carry this condition's files; only code that asks for it sees them.
export async function resolve(specifier, context, next) {
  return next(specifier, { ...context, conditions: [...context.conditions, '@wagate/source'] });
}
