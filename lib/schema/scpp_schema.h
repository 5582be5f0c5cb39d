/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_SCHEMA_H
#define SCPP_SCHEMA_H

/**
 * @file
 * The reflexive schema: types of entities, the metaschema, schema files and
 * the validation the evaluator runs on every write.
 *
 * Model
 * -----
 * - A **type** (`File`, `Process`) is a named set of **attribute
 *   declarations**. A declaration gives the attribute's value type, whether
 *   it is required, an optional default, a doc string and whether it is
 *   indexed. A type may name one of its attributes as its `name_attr`: the
 *   attribute that gives a printable name for joins (`Process.comm`).
 * - **Value types** are written as type expressions:
 *   - primitives `bool`, `i64`, `u64`, `f64`, `string`, `bytes`, `oid`
 *     (names are case-insensitive: `String` is `string`);
 *   - a type name (`File`): an OID that refers to an entity of that type;
 *   - a union `File | Directory | Symlink` of any of the above;
 *   - a map `Hash[K, V]` whose keys are of type K and values of type V
 *     (K and V are unions, not maps; K may not include f64).
 * - An entity's type is recorded in its universal `type` attribute, which
 *   holds the OID of the Type entity. An entity without `type` is untyped and
 *   free-form: every attribute and value is accepted. A typed entity accepts
 *   only its type's declared attributes (and `type`).
 * - **Schema is data.** Every type is an entity of type `Type`, every
 *   declaration an entity of type `Attribute`; `Type` is itself of type
 *   `Type` (the metaschema describes itself). The schema is materialised into
 *   a store shard as triples (scpp_schema_materialize()) so `get` works on
 *   it like on any data, and runtime changes arrive as `set` on those
 *   entities (struct scpp_schema_edit).
 * - **Well-known OIDs.** Schema entities live in the well-known namespace
 *   (locale, node and shard zero) and are derived from their names, so every
 *   node computes the same ones: lo = FNV-1a-64("scpp.type:" NAME) | 2^63
 *   for a type, FNV-1a-64("scpp.attr:" TYPE "." ATTR) | 2^63 for a
 *   declaration. Collisions are detected at load.
 *
 * Loading
 * -------
 * scpp_schema_load_files() parses schema files (JSON, format in
 * docs/SCHEMA.md), resolves type names across all of them, compiles the
 * result and checks that the schema entities conform to the metaschema. A
 * bad file fails with a struct scpp_schema_diag that names the file, the JSON
 * path (`$.types.File.attributes.size.type`) and the reason.
 *
 * Validation (hot path)
 * ---------------------
 * Each declaration is compiled to a bitmask of accepted value types plus the
 * set of accepted entity types for references, and is found by a single
 * hash probe on (type, attribute id): validating a `set` does no string
 * compare and no allocation. The functions that need to know about other
 * entities (the type of a reference's target, the attributes an entity
 * holds) ask through struct scpp_schema_access, which the caller backs with
 * its store shard.
 *
 * Threading: a compiled struct scpp_schema is immutable; any number of
 * threads may validate against it concurrently. Loading, edits and
 * materialisation are control-thread operations (they allocate). A new
 * schema (after an edit) is a new object: publish it with RCU and free the
 * old one after a grace period.
 *
 * Errors: int functions return 0 or a negative errno; validation failures
 * also fill a struct scpp_schema_violation with what was wrong, which
 * scpp_schema_violation_format() turns into a sentence off the hot path.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_value.h"

struct scpp_schema;      /**< a compiled, immutable schema (opaque) */
struct scpp_schema_type; /**< one compiled type (opaque, owned by the schema) */
struct scpp_schema_attr; /**< one compiled declaration (opaque, owned by the schema) */
struct scpp_schema_edit; /**< a pending runtime schema change (opaque) */
struct scpp_store;       /**< a store shard (lib/store) */
struct scpp_store_dict;  /**< the attribute dictionary (lib/store) */

/** Longest type or attribute name, in bytes. */
#define SCPP_SCHEMA_NAME_MAX 64
/** Most members of one union. */
#define SCPP_SCHEMA_UNION_MAX 16
/** Name of the universal attribute that records an entity's type. */
#define SCPP_SCHEMA_TYPE_ATTR "type"

/** Bits of scpp_schema_attr_flags(). */
enum scpp_schema_attr_flag {
	SCPP_SCHEMA_ATTR_REQUIRED = 1 << 0, /**< must be present at end of block */
	SCPP_SCHEMA_ATTR_INDEXED = 1 << 1,  /**< the store should index its values */
	SCPP_SCHEMA_ATTR_MAP = 1 << 2,      /**< a Hash[K, V] attribute */
	SCPP_SCHEMA_ATTR_DEFAULT = 1 << 3,  /**< has a default value */
};

/** Where and why a schema failed to load or an edit failed to commit. */
struct scpp_schema_diag {
	char file[256];   /**< file name as given ("(runtime)" for edits) */
	char path[256];   /**< JSON path (`$.types.File.attributes.size.type`),
			   *   or the schema entity for edits (`File.size`) */
	unsigned int line; /**< JSON syntax errors: 1-based line, else 0 */
	unsigned int col;  /**< JSON syntax errors: 1-based column, else 0 */
	char reason[384]; /**< what is wrong */
	char msg[1024];   /**< "file: path: reason" or "file:line:col: reason" */
};

/** What a validation found wrong. */
enum scpp_schema_vkind {
	SCPP_SCHEMA_V_NONE = 0,
	SCPP_SCHEMA_V_VALUE_TYPE,   /**< value not of the attribute's type */
	SCPP_SCHEMA_V_KEY_TYPE,     /**< map key not of the map's key type */
	SCPP_SCHEMA_V_REF_TYPE,     /**< referenced entity has the wrong type */
	SCPP_SCHEMA_V_REF_MISSING,  /**< referenced entity does not exist */
	SCPP_SCHEMA_V_UNKNOWN_ATTR, /**< attribute not declared by the entity's type */
	SCPP_SCHEMA_V_NOT_MAP,      /**< map operation on a plain attribute */
	SCPP_SCHEMA_V_IS_MAP,       /**< plain set on a Hash attribute */
	SCPP_SCHEMA_V_REQUIRED,     /**< required attribute missing or deleted */
	SCPP_SCHEMA_V_UNKNOWN_TYPE, /**< `type` names no known type */
	SCPP_SCHEMA_V_TYPE_CHANGE,  /**< `type` of a typed entity changed */
	SCPP_SCHEMA_V_ACCESS,       /**< the access callback failed */
};

/**
 * Details of a validation failure. Filled without allocation or formatting;
 * pointers refer to the schema that validated.
 */
struct scpp_schema_violation {
	enum scpp_schema_vkind kind;          /**< what was wrong */
	const struct scpp_schema_type *type;  /**< the entity's type, or NULL */
	const struct scpp_schema_attr *attr;  /**< the declaration, or NULL */
	uint32_t attr_id;                     /**< the attribute id involved */
	uint8_t got;                          /**< value type received (enum scpp_value_type) */
	struct scpp_oid entity;               /**< the entity checked (nil if unknown) */
	struct scpp_oid target;               /**< referenced entity (REF_*) or type OID */
	struct scpp_oid target_type;          /**< its type (REF_TYPE; nil = untyped) */
	int err;                              /**< callback error (ACCESS) */
};

/** Receives one attribute of an entity; @p key is NULL for a plain value. */
typedef int (*scpp_schema_attr_cb)(void *arg, uint32_t attr_id,
				   const struct scpp_value *key,
				   const struct scpp_value *value);
/** Receives one entity OID. Return non-zero to stop the enumeration. */
typedef int (*scpp_schema_entity_cb)(void *arg, struct scpp_oid entity);

/**
 * How the schema reads the data it validates (backed by a store shard; see
 * scpp_schema_store_access()). Every hook may be NULL where noted.
 */
struct scpp_schema_access {
	/**
	 * Type of entity @p e: 0 and *@p type (nil for an untyped entity);
	 * -ENOENT if @p e does not exist; -EREMOTE if @p e lives elsewhere and
	 * cannot be checked here (the reference is then accepted: see
	 * docs/SCHEMA.md). NULL: reference targets are not checked.
	 */
	int (*type_of)(void *ctx, struct scpp_oid e, struct scpp_oid *type);
	/** 1 if @p e has attribute @p attr (plain or map), 0 if not, <0 on error. */
	int (*has)(void *ctx, struct scpp_oid e, uint32_t attr);
	/** Set a plain attribute (used to fill defaults). May be NULL. */
	int (*set)(void *ctx, struct scpp_oid e, uint32_t attr,
		   const struct scpp_value *v);
	/**
	 * Call @p cb for every plain attribute and every map entry of @p e;
	 * stop and return its value if it returns non-zero.
	 */
	int (*foreach_attr)(void *ctx, struct scpp_oid e, scpp_schema_attr_cb cb,
			    void *arg);
	/**
	 * Call @p cb for every entity whose `type` is @p type (control path,
	 * for schema edits). NULL: edits that need to look at instances are
	 * refused with -EOPNOTSUPP.
	 */
	int (*foreach_instance)(void *ctx, struct scpp_oid type,
				scpp_schema_entity_cb cb, void *arg);
	void *ctx; /**< passed to every hook */
	/** State of the store-backed hooks (scpp_schema_store_access()). */
	struct {
		struct scpp_store *store;
		const struct scpp_schema *schema;
		int (*foreach_instance)(void *ctx, struct scpp_oid type,
					scpp_schema_entity_cb cb, void *arg);
		void *inst_ctx;
		struct scpp_oid_prefix local;
	} store_priv;
};

/**
 * Intern an attribute name to its 32-bit id (the store's dictionary).
 * Returns 0 with *@p id set (never 0), or a negative errno.
 */
typedef int (*scpp_schema_intern_fn)(void *ctx, const char *name, size_t len,
				     uint32_t *id);
/**
 * Derive a well-known OID (test hook). @p kind is "type" or "attr";
 * @p name is `Type` or `Type.attr`.
 */
typedef struct scpp_oid (*scpp_schema_oid_fn)(const char *kind, const char *name);

/** Schema build options. A zeroed struct is valid. */
struct scpp_schema_conf {
	/** Attribute-name interning; NULL: the schema numbers names itself
	 *  (1, 2, ... in order of first appearance). */
	scpp_schema_intern_fn intern;
	void *intern_ctx;      /**< passed to @c intern */
	/** OID derivation; NULL: the documented rule (scpp_schema_type_oid()). */
	scpp_schema_oid_fn derive_oid;
};

/* ------------------------------------------------------------ well-known */

/**
 * The well-known OID of type @p name (NUL-terminated).
 * Pure function; any thread.
 */
struct scpp_oid scpp_schema_type_oid(const char *name);

/** The well-known OID of the declaration of @p attr in type @p type. */
struct scpp_oid scpp_schema_attr_oid(const char *type, const char *attr);

/* --------------------------------------------------------------- loading */

/**
 * Load, resolve and compile schema files; check the result against the
 * metaschema. Control thread; allocates.
 *
 * @param paths
 *   @p n file names, in any order (types may refer to types of any file).
 * @param conf
 *   Options (may be NULL: defaults).
 * @param out
 *   Receives the schema on success (free with scpp_schema_free()).
 * @param diag
 *   Filled on failure when not NULL.
 * @return
 *   - 0 on success;
 *   - -EINVAL: a file is not a valid schema (see @p diag);
 *   - -ENOENT, -EACCES, -EISDIR, ...: a file could not be read (errno);
 *   - -EFBIG: a file is larger than 16 MiB;
 *   - -ENOMEM: out of memory;
 *   - any negative errno returned by @c conf->intern.
 */
int scpp_schema_load_files(const char *const *paths, unsigned int n,
			   const struct scpp_schema_conf *conf,
			   struct scpp_schema **out, struct scpp_schema_diag *diag);

/**
 * As scpp_schema_load_files() for in-memory texts; @p names are the file
 * names reported in diagnostics. Texts need not be NUL-terminated.
 *
 * @return as scpp_schema_load_files() (no file errors).
 */
int scpp_schema_load_strings(const char *const *names, const char *const *texts,
			     const size_t *lens, unsigned int n,
			     const struct scpp_schema_conf *conf,
			     struct scpp_schema **out, struct scpp_schema_diag *diag);

/** Free a schema; NULL is a no-op. No thread may still use it. */
void scpp_schema_free(struct scpp_schema *s);

/* ------------------------------------------------------------ inspection */

/** Number of types. */
unsigned int scpp_schema_type_count(const struct scpp_schema *s);
/** Type @p i (0 .. count-1), in file order; NULL if out of range. */
const struct scpp_schema_type *scpp_schema_type_at(const struct scpp_schema *s,
						   unsigned int i);
/** Type by name (control path: string compare); NULL if unknown. */
const struct scpp_schema_type *scpp_schema_type_by_name(const struct scpp_schema *s,
							const char *name);
/**
 * Type by the OID of its Type entity (the value of an entity's `type`
 * attribute). One hash probe; any thread.
 *
 * @return the type, or NULL if @p oid names no type of this schema.
 */
const struct scpp_schema_type *scpp_schema_type_by_oid(const struct scpp_schema *s,
						       struct scpp_oid oid);
const char *scpp_schema_type_name(const struct scpp_schema_type *t);
const char *scpp_schema_type_doc(const struct scpp_schema_type *t); /**< "" if none */
struct scpp_oid scpp_schema_type_get_oid(const struct scpp_schema_type *t);
/** The declaration named by the type's name_attr, or NULL. */
const struct scpp_schema_attr *scpp_schema_type_name_attr(const struct scpp_schema_type *t);
unsigned int scpp_schema_type_attr_count(const struct scpp_schema_type *t);
/**
 * True if @p t is `Type` or `Attribute`: its instances are schema entities,
 * whose changes must go through struct scpp_schema_edit rather than
 * directly into the store.
 */
bool scpp_schema_type_is_meta(const struct scpp_schema_type *t);
/** Declaration @p i of @p t in declaration order; NULL if out of range. */
const struct scpp_schema_attr *scpp_schema_type_attr_at(const struct scpp_schema_type *t,
							unsigned int i);

/**
 * The id the schema uses for attribute name @p name (interned through
 * conf.intern when the schema was built). Control path.
 *
 * @return 0 with *@p id set; -ENOENT if no type declares @p name (and it is
 *   not `type`).
 */
int scpp_schema_attr_id(const struct scpp_schema *s, const char *name, uint32_t *id);
/** The id of the universal `type` attribute. */
uint32_t scpp_schema_type_attr_id(const struct scpp_schema *s);

/**
 * Declaration of attribute @p attr_id in type @p t: one hash probe, no
 * string compare; any thread.
 *
 * @return the declaration, or NULL if @p t does not declare it.
 */
const struct scpp_schema_attr *scpp_schema_attr_get(const struct scpp_schema *s,
						    const struct scpp_schema_type *t,
						    uint32_t attr_id);
const char *scpp_schema_attr_name(const struct scpp_schema_attr *a);
const char *scpp_schema_attr_doc(const struct scpp_schema_attr *a); /**< "" if none */
uint32_t scpp_schema_attr_get_id(const struct scpp_schema_attr *a);
struct scpp_oid scpp_schema_attr_get_oid(const struct scpp_schema_attr *a);
const struct scpp_schema_type *scpp_schema_attr_owner(const struct scpp_schema_attr *a);
/** Longest type expression, in its canonical form (bytes); a longer one is
 *  a load error naming the attribute, never truncated. */
#define SCPP_SCHEMA_EXPR_MAX 511

/** Canonical type expression ("Hash[string, File | Directory]"). */
const char *scpp_schema_attr_type_expr(const struct scpp_schema_attr *a);
/** OR of enum scpp_schema_attr_flag. */
unsigned int scpp_schema_attr_flags(const struct scpp_schema_attr *a);
/** The default value, or NULL if none (strings borrow schema memory). */
const struct scpp_value *scpp_schema_attr_default(const struct scpp_schema_attr *a);

/* ------------------------------------------------------------- validation */

/**
 * Check @p v against the value type of declaration @p a (for a Hash
 * attribute: its value type). References are checked through
 * @p acc->type_of when @p acc and the hook are given.
 *
 * @param entity  the entity being written (reported in @p viol; may be nil).
 * @param viol    filled on failure; may be NULL.
 * @return 0 if accepted;
 *   - -EINVAL: wrong value type (V_VALUE_TYPE) or the target has the wrong
 *     type (V_REF_TYPE);
 *   - -ENOENT: the referenced entity does not exist (V_REF_MISSING);
 *   - another negative errno from @c type_of (V_ACCESS).
 */
int scpp_schema_check_value(const struct scpp_schema *s,
			    const struct scpp_schema_attr *a, struct scpp_oid entity,
			    const struct scpp_value *v,
			    const struct scpp_schema_access *acc,
			    struct scpp_schema_violation *viol);

/**
 * Check `set entity attr v` for an entity of type @p t (NULL: untyped).
 *
 * Untyped entities accept everything, except that `type` must name a known
 * type. A typed entity accepts only declared attributes with values of the
 * declared type, and never a different `type`.
 *
 * @return 0 if accepted;
 *   - -EINVAL: V_VALUE_TYPE, V_REF_TYPE, V_UNKNOWN_ATTR, V_IS_MAP (plain set
 *     of a Hash attribute), V_UNKNOWN_TYPE, V_TYPE_CHANGE;
 *   - -ENOENT: V_REF_MISSING;
 *   - another negative errno from @c acc->type_of (V_ACCESS).
 */
int scpp_schema_check_set(const struct scpp_schema *s,
			  const struct scpp_schema_type *t, struct scpp_oid entity,
			  uint32_t attr_id, const struct scpp_value *v,
			  const struct scpp_schema_access *acc,
			  struct scpp_schema_violation *viol);

/**
 * Check setting map entry @p key -> @p v of attribute @p attr_id.
 *
 * @return 0 if accepted; -EINVAL: V_KEY_TYPE, V_VALUE_TYPE, V_REF_TYPE,
 *   V_UNKNOWN_ATTR, V_NOT_MAP (the attribute is not a Hash); -ENOENT:
 *   V_REF_MISSING (key or value); another negative errno from
 *   @c acc->type_of (V_ACCESS).
 */
int scpp_schema_check_map_set(const struct scpp_schema *s,
			      const struct scpp_schema_type *t,
			      struct scpp_oid entity, uint32_t attr_id,
			      const struct scpp_value *key,
			      const struct scpp_value *v,
			      const struct scpp_schema_access *acc,
			      struct scpp_schema_violation *viol);

/**
 * Check deleting attribute @p attr_id (the whole attribute, not a map
 * entry; map entries may always be deleted).
 *
 * @return 0 if accepted; -EINVAL: V_REQUIRED (a required attribute of a
 *   typed entity, or `type` itself of a typed entity).
 */
int scpp_schema_check_del(const struct scpp_schema *s,
			  const struct scpp_schema_type *t, struct scpp_oid entity,
			  uint32_t attr_id, struct scpp_schema_violation *viol);

/** Flags of scpp_schema_check_entity(). */
enum scpp_schema_check_flag {
	/** Set missing attributes that have a default (needs acc->set). */
	SCPP_SCHEMA_CHECK_FILL_DEFAULTS = 1 << 0,
	/** Also re-check every attribute the entity holds (needs
	 *  acc->foreach_attr); used when an entity became typed. */
	SCPP_SCHEMA_CHECK_ALL_ATTRS = 1 << 1,
};

/**
 * End-of-block check of an entity created (or made typed) in the block:
 * every required attribute is present (after filling defaults when asked)
 * and, with SCPP_SCHEMA_CHECK_ALL_ATTRS, every attribute it holds is valid.
 * Allocation-free.
 *
 * @param flags  OR of enum scpp_schema_check_flag.
 * @return 0 if the entity is valid;
 *   - -EINVAL: V_REQUIRED (first missing required attribute) or any
 *     violation of scpp_schema_check_set()/_map_set();
 *   - -ENOENT: V_REF_MISSING;
 *   - -ENOTSUP: a flag needs a hook @p acc does not provide;
 *   - another negative errno from a hook (V_ACCESS).
 */
int scpp_schema_check_entity(const struct scpp_schema *s,
			     const struct scpp_schema_type *t,
			     struct scpp_oid entity, unsigned int flags,
			     const struct scpp_schema_access *acc,
			     struct scpp_schema_violation *viol);

/**
 * Describe a violation in one sentence, e.g.
 * `File.size: expected u64, got str`. Control path.
 *
 * @return as snprintf().
 */
int scpp_schema_violation_format(char *buf, size_t size,
				 const struct scpp_schema_violation *viol);

/* ------------------------------------------------------ schema as triples */

/**
 * Receives one triple of the schema: @p key is NULL for a plain value, else
 * the map key. Strings borrow schema memory. Return non-zero to stop.
 */
typedef int (*scpp_schema_triple_cb)(void *arg, struct scpp_oid entity,
				     const char *attr, uint32_t attr_id,
				     const struct scpp_value *key,
				     const struct scpp_value *value);

/**
 * Enumerate the schema as triples: for every type its Type entity, then
 * its Attribute entities, each entity's triples in a fixed order starting
 * with `type`. This is exactly what scpp_schema_materialize() writes.
 *
 * @return 0, or the first non-zero value @p cb returned.
 */
int scpp_schema_foreach_triple(const struct scpp_schema *s,
			       scpp_schema_triple_cb cb, void *arg);

/**
 * Check every schema entity against the metaschema (the `Type` and
 * `Attribute` types of the schema itself). Done by every load and commit;
 * exported for tests and tools.
 *
 * @return 0, or -EINVAL with @p viol describing the first violation.
 */
int scpp_schema_check_self(const struct scpp_schema *s,
			   struct scpp_schema_violation *viol);

/* -------------------------------------------------------- runtime changes */

/**
 * Start a runtime schema change: a copy of @p cur's schema entities to which
 * sets are applied, then validated as a whole by scpp_schema_edit_commit().
 * Control thread.
 *
 * @return 0; -EINVAL (NULL argument); -ENOMEM.
 */
int scpp_schema_edit_begin(const struct scpp_schema *cur,
			   struct scpp_schema_edit **out);

/**
 * Apply `set entity attr v` to the pending change. @p entity is an existing
 * schema entity, or a new one once its `type` was set to the OID of `Type`
 * or `Attribute` in this edit. Values are checked against the metaschema
 * at once (type errors), the whole at commit.
 *
 * @return 0;
 *   - -EINVAL: @p entity is not a schema entity, @p attr_id is not an
 *     attribute of its metaschema type, or the value has the wrong type
 *     (@p diag says which);
 *   - -ENOMEM.
 */
int scpp_schema_edit_set(struct scpp_schema_edit *ed, struct scpp_oid entity,
			 uint32_t attr_id, const struct scpp_value *v,
			 struct scpp_schema_diag *diag);

/**
 * Apply `set entity attr[key] v` (a map entry, e.g. a new entry of
 * `Type.attributes`).
 *
 * @return as scpp_schema_edit_set().
 */
int scpp_schema_edit_map_set(struct scpp_schema_edit *ed, struct scpp_oid entity,
			     uint32_t attr_id, const struct scpp_value *key,
			     const struct scpp_value *v,
			     struct scpp_schema_diag *diag);

/**
 * Delete a plain attribute (@p key NULL) or a map entry of a schema entity.
 *
 * @return 0; -EINVAL (not a schema entity or attribute); -ENOENT (absent).
 */
int scpp_schema_edit_del(struct scpp_schema_edit *ed, struct scpp_oid entity,
			 uint32_t attr_id, const struct scpp_value *key,
			 struct scpp_schema_diag *diag);

/**
 * Validate the change and build the new schema: the schema entities must
 * conform to the metaschema, compile as a schema (the same rules as files)
 * and be compatible with the instances @p acc shows (a declaration made
 * required while an instance lacks it, a type changed while an instance
 * holds a value of the old type, an attribute removed while an instance
 * holds it: all rejected, naming the instance).
 *
 * @param acc  the data (may be NULL: no instances are checked, and every
 *   change that could affect instances is refused).
 * @param out  receives the new schema; the caller applies the same sets to
 *   the store (or re-materialises) and publishes it.
 * @return 0;
 *   - -EINVAL: the change is not a valid schema (@p diag says why);
 *   - -EBUSY: incompatible with existing instances (@p diag names one);
 *   - -EOPNOTSUPP: instances would need checking and @p acc cannot
 *     enumerate them;
 *   - -ENOMEM; or a negative errno from a hook.
 */
int scpp_schema_edit_commit(struct scpp_schema_edit *ed,
			    const struct scpp_schema_access *acc,
			    struct scpp_schema **out, struct scpp_schema_diag *diag);

/** Free a pending change (committed or not); NULL is a no-op. */
void scpp_schema_edit_free(struct scpp_schema_edit *ed);

/*
 * A change checked where the instances are (docs/SCHEMA.md §7): the
 * control lcore compiles the change without looking at any instance, then
 * every shard checks its own instances of the types the change affects
 * and votes. Together these do what scpp_schema_edit_commit() does with an
 * access that sees every instance.
 */

/**
 * scpp_schema_edit_commit() without the instance check: the change is a
 * valid schema. Control thread.
 *
 * @return 0 (*@p out the new schema, the caller's); -EINVAL (@p diag says
 *   why); -ENOMEM.
 */
int scpp_schema_edit_compile(struct scpp_schema_edit *ed, struct scpp_schema **out,
			     struct scpp_schema_diag *d);

/**
 * Types of @p ns whose declarations changed from @p os in a way instances
 * can notice (an attribute added, removed, made required or given another
 * type), metaschema types excepted: the first @p max go to @p out.
 *
 * @return how many there are (more than @p max: @p out is partial).
 */
unsigned int scpp_schema_changed_types(const struct scpp_schema *os, const struct scpp_schema *ns,
				       struct scpp_oid *out, unsigned int max);

/**
 * Does instance @p e of (changed) type @p type conform to @p ns? Any
 * thread that may read the store @p acc reads.
 *
 * @return 0; -EBUSY with @p diag naming the instance and why (the message
 *   scpp_schema_edit_commit() gives); or a negative errno from a hook.
 */
int scpp_schema_check_instance(const struct scpp_schema *ns, struct scpp_oid type, struct scpp_oid e,
			       const struct scpp_schema_access *acc, struct scpp_schema_diag *d);

/* ------------------------------------------------------------------ store */

/**
 * An intern hook over a store dictionary, for struct scpp_schema_conf:
 * `conf.intern = scpp_schema_store_intern; conf.intern_ctx = dict;`.
 */
int scpp_schema_store_intern(void *dict, const char *name, size_t len, uint32_t *id);

/**
 * Write the schema into a shard: create every schema entity with its
 * well-known OID and set its triples (scpp_schema_foreach_triple()).
 * Entities that exist already are replaced (their old triples deleted
 * first), so re-materialising after an edit is idempotent. The schema must
 * have been built with the shard's dictionary as conf.intern. Control
 * thread, before workers start or on the owning lcore.
 *
 * @return 0; a negative errno from the store (-ENOSPC, ...): the shard may
 *   then hold part of the schema.
 */
int scpp_schema_materialize(const struct scpp_schema *s, struct scpp_store *st);

/**
 * Make the shard's value index follow the schema: every attribute id some
 * declaration marks `indexed` is indexed (scpp_store_index_attr()), the
 * others are not. scpp_schema_materialize() calls it. A shard created
 * without a value index (config.max_indexed 0) is left alone.
 *
 * @return 0, or the first error of scpp_store_index_attr() (-ENOSPC: more
 *   than SCPP_STORE_INDEXED_MAX indexed attributes, or a full pool).
 */
int scpp_schema_index_sync(const struct scpp_schema *s, struct scpp_store *st);

/**
 * Fill @p acc with hooks over shard @p st: type_of reads an entity's `type`
 * (an entity without one is untyped; a missing entity is -ENOENT, or
 * -EREMOTE when it lies outside the local prefix, see
 * scpp_schema_store_access_local()); has/set/foreach_attr map to the store.
 * The store cannot list entities by type, so foreach_instance is the
 * caller's @p foreach_instance (may be NULL) called with @p inst_ctx.
 *
 * The hooks' state lives inside @p acc (acc->ctx points at @p acc itself),
 * so @p acc must not be copied after this call; it stays valid as long as
 * @p st and @p s do. Any thread that may read the shard.
 */
void scpp_schema_store_access(struct scpp_schema_access *acc,
			      struct scpp_store *st, const struct scpp_schema *s,
			      int (*foreach_instance)(void *ctx, struct scpp_oid type,
						      scpp_schema_entity_cb cb,
						      void *arg),
			      void *inst_ctx);

/**
 * Restrict what the store-backed @p acc treats as local: a reference to a
 * missing entity outside @p local (and outside the well-known namespace) is
 * accepted unchecked (type_of returns -EREMOTE) instead of rejected. By
 * default (prefix length 0) every OID is local.
 */
void scpp_schema_store_access_local(struct scpp_schema_access *acc,
				    const struct scpp_oid_prefix *local);

/* ------------------------------------------------------------ publication */

/**
 * @struct scpp_schema_pub
 * One schema for every shard of a node: publication of runtime schema
 * changes (docs/SCHEMA.md §7 "One schema per node").
 *
 * - Changes are linearised node-wide. A worker about to commit a block
 *   that changes the schema takes the publisher's gate with
 *   scpp_schema_pub_begin(), which succeeds only when that worker runs on
 *   the current version and no other change is in flight (else -EAGAIN:
 *   the block is refused, the client retries). It compiles the change
 *   against that version, and hands the result to the control lcore with
 *   scpp_schema_pub_submit() (or releases the gate with
 *   scpp_schema_pub_abandon() when the block does not commit).
 * - The control lcore calls scpp_schema_pub_service() from its loop: it
 *   publishes a submitted schema as version + 1 and opens the gate.
 * - Every worker compares scpp_schema_pub_version() with the version it
 *   uses, once per loop (one acquire load). When it moved, the worker
 *   takes scpp_schema_pub_current(), rewrites its shard's schema entities
 *   with scpp_schema_rematerialize() unless it is the schema it submitted
 *   itself, switches its evaluator, and calls scpp_schema_pub_adopted().
 * - Reclamation (RCU, QSBR style): the schema a version replaced is freed
 *   by the control lcore once every worker has adopted that version or a
 *   later one.
 *
 * The publisher owns every schema it is given (the initial one included)
 * and frees them.
 */
struct scpp_schema_pub;

/**
 * Create a publisher for @p nworkers workers (indexes 0 .. nworkers - 1),
 * publishing @p initial as version 1 (ownership passes to it). Control.
 *
 * @return the publisher, or NULL with errno EINVAL or ENOMEM.
 */
struct scpp_schema_pub *scpp_schema_pub_create(struct scpp_schema *initial,
					       unsigned int nworkers);

/** Free the publisher and every schema it owns; NULL is a no-op. Control,
 *  after the workers stopped. */
void scpp_schema_pub_free(struct scpp_schema_pub *p);

/** The published version (starts at 1). Any thread; one acquire load. */
uint64_t scpp_schema_pub_version(const struct scpp_schema_pub *p);

/**
 * The published schema and its version (@p version may be NULL). Worker,
 * when the version moved; valid until the worker reports a later adoption.
 */
const struct scpp_schema *scpp_schema_pub_current(const struct scpp_schema_pub *p,
						  uint64_t *version);

/** Worker @p worker now uses @p version (and nothing older). */
void scpp_schema_pub_adopted(struct scpp_schema_pub *p, unsigned int worker,
			     uint64_t version);

/**
 * Take the gate for a schema change compiled against @p version. Worker.
 *
 * @return 0 (the caller must end with submit or abandon), or -EAGAIN
 *   (another change is in flight, or @p version is not the current one).
 */
int scpp_schema_pub_begin(struct scpp_schema_pub *p, unsigned int worker, uint64_t version);

/** Release the gate without a change (the block did not commit). Worker. */
void scpp_schema_pub_abandon(struct scpp_schema_pub *p, unsigned int worker);

/**
 * Hand the compiled schema to the control lcore (ownership passes). The
 * gate stays closed until it is published. Worker holding the gate.
 */
void scpp_schema_pub_submit(struct scpp_schema_pub *p, unsigned int worker,
			    struct scpp_schema *next);

/**
 * Control lcore, from its loop: publish a submitted schema, free what every
 * worker stopped using.
 *
 * @param origin  receives the submitting worker when one was published.
 * @return 1 when a schema was published, 0 when none was pending, -EBUSY
 *   when it must wait (too many old versions still in use).
 */
int scpp_schema_pub_service(struct scpp_schema_pub *p, unsigned int *origin);

/** Schemas published since creation. Control. */
uint64_t scpp_schema_pub_published(const struct scpp_schema_pub *p);

/** Old schemas still waiting for every worker to move on. Control. */
unsigned int scpp_schema_pub_retired(const struct scpp_schema_pub *p);

/**
 * Rewrite a shard's schema entities from @p old (NULL: none) to @p next:
 * entities @p next no longer has are deleted, every other one is written
 * whole (scpp_schema_materialize()). The shard's owner lcore; allocates
 * (a rare control operation).
 *
 * @return 0 or a negative errno from the store.
 */
int scpp_schema_rematerialize(const struct scpp_schema *old, const struct scpp_schema *next,
			      struct scpp_store *st);

#endif /* SCPP_SCHEMA_H */
