// family.h: what every command family file includes.
#pragma once

#include <allot/reply.h>

#include "engine/commands/args.h"
#include "engine/commands/command.h"
#include "engine/commands/command_table.h"
#include "engine/commands/status.h"
#include "engine/engine_impl.h"
#include "engine/keyspace/db.h"
#include "engine/util/assert.h"
