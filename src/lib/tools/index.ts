import type {Toolset} from './registry.ts'
import {cnpgToolset} from './cnpg/index.ts'
import {postgresToolset} from './postgres/index.ts'

/** The toolsets `kmcp serve` mounts. A new toolset is added here and nowhere else. */
export const toolsets: Toolset[] = [cnpgToolset, postgresToolset]
