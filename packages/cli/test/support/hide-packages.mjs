// Node.js --import hook for the tests: makes the packages listed in LEPTON_TEST_HIDE (comma-separated) fail to
// resolve exactly as an absent package does (ERR_MODULE_NOT_FOUND, "Cannot find package '<name>'"), so the CLI can be
// tested as installed without its optional peer @lepton/medical, or without @lepton/core.
import { register } from 'node:module';

const hooks = `
const hidden = (process.env.LEPTON_TEST_HIDE ?? '').split(',').filter(Boolean);
export async function resolve(specifier, context, next) {
  const name = hidden.find((h) => specifier === h || specifier.startsWith(h + '/'));
  if (name !== undefined) {
    const err = new Error("Cannot find package '" + name + "' imported from " + context.parentURL);
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
