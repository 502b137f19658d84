import { create, createFileRegistry, type DescFile, type FileRegistry, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";

/**
 * What server reflection answers from: the files that declare the served services and every
 * file they import, looked up by file name, by symbol and by extension.
 */
export interface DescriptorIndex {
  /** Fully-qualified names of the listed services, e.g. "weaver.gateway.v1.GatewayService". */
  readonly serviceNames: readonly string[];
  /** Every file's name, e.g. "google/protobuf/timestamp.proto", importers after their imports. */
  readonly fileNames: readonly string[];
  /** The named file and its transitive imports, serialized; undefined when unknown. */
  fileByFilename(fileName: string): Uint8Array[] | undefined;
  /**
   * The file declaring a fully-qualified symbol — a service, method, message, field, oneof, enum,
   * enum value or extension, nested ones included — and its transitive imports.
   */
  fileContainingSymbol(symbol: string): Uint8Array[] | undefined;
  /** The file declaring extension `number` of message `extendee`, and its transitive imports. */
  fileContainingExtension(extendee: string, number: number): Uint8Array[] | undefined;
  /** The numbers of every known extension of a message; undefined when the message is unknown. */
  extensionNumbersOf(extendee: string): number[] | undefined;
}

/**
 * Indexes `files` and their transitive imports. `serviceNames` defaults to every service the
 * given files (not their imports) declare.
 */
export function createDescriptorIndex(
  files: Iterable<DescFile>,
  serviceNames?: Iterable<string>,
): DescriptorIndex {
  const roots = [...files];
  const ordered = importsFirst(roots);
  // Building a registry from the protos checks that they form a consistent set.
  const registry: FileRegistry = createFileRegistry(
    create(FileDescriptorSetSchema, { file: ordered.map((file) => file.proto) }),
  );
  const byName = new Map(ordered.map((file) => [file.proto.name, file]));
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  for (const file of ordered) {
    for (const [symbol, extension] of symbolsOf(file)) {
      if (!symbols.has(symbol)) symbols.set(symbol, file);
      if (extension) {
        const numbers = extensions.get(extension.extendee) ?? new Map<number, DescFile>();
        numbers.set(extension.number, file);
        extensions.set(extension.extendee, numbers);
      }
    }
  }
  const serialized = new Map<DescFile, Uint8Array>();
  const bytesOf = (file: DescFile): Uint8Array => {
    let bytes = serialized.get(file);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      serialized.set(file, bytes);
    }
    return bytes;
  };
  /** The file first, then its imports breadth first, each once. */
  const withImports = (file: DescFile): Uint8Array[] => {
    const seen = new Set<DescFile>([file]);
    const queue = [file];
    for (let i = 0; i < queue.length; i++) {
      for (const dependency of (queue[i] as DescFile).dependencies) {
        if (seen.has(dependency)) continue;
        seen.add(dependency);
        queue.push(dependency);
      }
    }
    return queue.map(bytesOf);
  };
  const found = (file: DescFile | undefined) => (file ? withImports(file) : undefined);
  const listed = serviceNames
    ? [...new Set(serviceNames)]
    : roots.flatMap((file) => file.services.map((service) => service.typeName));
  return {
    serviceNames: listed,
    fileNames: ordered.map((file) => file.proto.name),
    fileByFilename: (fileName) => found(byName.get(fileName)),
    fileContainingSymbol: (symbol) => found(symbols.get(stripLeadingDot(symbol))),
    fileContainingExtension: (extendee, number) =>
      found(extensions.get(stripLeadingDot(extendee))?.get(number)),
    extensionNumbersOf: (extendee) => {
      const name = stripLeadingDot(extendee);
      if (!registry.getMessage(name)) return undefined;
      return [...(extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
    },
  };
}

/** The files and everything they import, each once, every file after the files it imports. */
function importsFirst(roots: DescFile[]): DescFile[] {
  const ordered: DescFile[] = [];
  const visited = new Set<string>();
  const visit = (file: DescFile) => {
    if (visited.has(file.proto.name)) return;
    visited.add(file.proto.name);
    for (const dependency of file.dependencies) visit(dependency);
    ordered.push(file);
  };
  for (const file of roots) visit(file);
  return ordered;
}

type ExtensionKey = { extendee: string; number: number };

/**
 * Every fully-qualified name a file declares, read from its FileDescriptorProto so that map
 * entry messages count too; extensions come with the message and number they extend.
 */
function* symbolsOf(file: DescFile): Iterable<[string, ExtensionKey?]> {
  const { proto } = file;
  const scope = proto.package;
  for (const message of proto.messageType) yield* messageSymbols(scope, message);
  for (const enumType of proto.enumType) yield* enumSymbols(scope, enumType);
  for (const extension of proto.extension) yield extensionSymbol(scope, extension);
  for (const service of proto.service) {
    const name = join(scope, service.name);
    yield [name];
    for (const method of service.method) yield [join(name, method.name)];
  }
}

function* messageSymbols(scope: string, message: DescriptorProto): Iterable<[string, ExtensionKey?]> {
  const name = join(scope, message.name);
  yield [name];
  for (const field of message.field) yield [join(name, field.name)];
  for (const oneof of message.oneofDecl) yield [join(name, oneof.name)];
  for (const nested of message.nestedType) yield* messageSymbols(name, nested);
  for (const enumType of message.enumType) yield* enumSymbols(name, enumType);
  for (const extension of message.extension) yield extensionSymbol(name, extension);
}

function* enumSymbols(scope: string, enumType: EnumDescriptorProto): Iterable<[string]> {
  yield [join(scope, enumType.name)];
  // Enum values are scoped like their enum, not inside it (C++ scoping rules).
  for (const value of enumType.value) yield [join(scope, value.name)];
}

function extensionSymbol(scope: string, extension: FieldDescriptorProto): [string, ExtensionKey] {
  return [
    join(scope, extension.name),
    { extendee: stripLeadingDot(extension.extendee), number: extension.number },
  ];
}

function join(scope: string, name: string): string {
  return scope ? `${scope}.${name}` : name;
}

function stripLeadingDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}
