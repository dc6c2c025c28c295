// Datacenter → Permissions: users, API tokens, the ACL and roles, one tab each
// (#/access/<tab>). The tabs' contents live in views/access/.
import { href } from '../router';
import { Tabs } from '../components/ui';
import { UsersTab } from './access/Users';
import { TokensTab } from './access/Tokens';
import { PermissionsTab } from './access/Permissions';
import { RolesTab } from './access/Roles';
import './access/access.css';

const TABS = [
  { id: 'users', label: 'Users', view: UsersTab },
  { id: 'tokens', label: 'API Tokens', view: TokensTab },
  { id: 'acl', label: 'Permissions', view: PermissionsTab },
  { id: 'roles', label: 'Roles', view: RolesTab },
];

export function AccessPage({ tab }: { tab: string }) {
  const current = TABS.find((t) => t.id === tab) ?? TABS[0];
  const View = current.view;
  return (
    <section class="page access">
      <header class="page-head">
        <h1>Permissions</h1>
      </header>
      <Tabs tabs={TABS} current={current.id} hrefFor={(id) => href('access', id)} />
      <div class="tab-body" role="tabpanel" aria-label={current.label}>
        <View key={current.id} />
      </div>
    </section>
  );
}
