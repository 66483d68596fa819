import type {Toolset} from './registry.ts'
import {cnpgToolset} from './cnpg/index.ts'
import {postgresToolset} from './postgres/index.ts'
import {promptAdminToolset} from './postgres/admin-prompts.ts'

/** The toolsets `kmcp serve` mounts. A new toolset is added here and nowhere else. */
export const toolsets: Toolset[] = [cnpgToolset, postgresToolset, promptAdminToolset]
