import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The id cdk-nag gives the AwsSolutions-IAM5 finding for one wildcard `resource` of an IAM
 * policy, e.g. `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:eu-west-1:111111111111:schedule/keyrotor/revoke-*]`,
 * so that exactly that finding, and no other wildcard, can be acknowledged.
 *
 * cdk-nag writes the resolved resource with `Fn::Join` joined, a `Ref` as `<Name>` and a
 * `Fn::GetAtt` as `<Resource.Attribute>`; anything else cannot be named and is refused.
 */
export function wildcardResourceFindingId(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
}

function flatten(node: unknown): string {
  if (typeof node === 'string') return node;
  if (isRecord(node)) {
    const join = node['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map(flatten).join(join[0]);
    }
    if (typeof node.Ref === 'string') return `<${node.Ref}>`;
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt.length === 2) return `<${String(getAtt[0])}.${String(getAtt[1])}>`;
  }
  throw new Error(`cannot name the cdk-nag finding for the resource ${JSON.stringify(node)}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
