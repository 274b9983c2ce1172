import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { acknowledgeNistFindings, NIST_800_53_R5, NIST_REASONS } from '../../lib/compliance';
import { loadConfig, type KeyrotorConfig } from '../../lib/config';
import type { KeyrotorStack } from '../../lib/keyrotor-stack';
import {
  acknowledgements,
  awsSolutionsFindings,
  buildAcknowledgedKeyrotorStack,
  buildKeyrotorStack,
  nistFindings,
  testConfig,
  tokenTestConfig,
} from './test-stack';

const EXAMPLE_CONFIG = path.join(__dirname, '..', '..', 'keyrotor.config.json');

/** The NIST rules keyrotor acknowledges; every other one (log encryption, PITR, key rotation, encrypted queues…) is fixed instead. */
const ACKNOWLEDGEABLE_RULES = ['LambdaInsideVPC', 'LambdaConcurrency', 'LambdaDLQ', 'IAMNoInlinePolicy', 'DynamoDBInBackupPlan', 'SecretsManagerRotationEnabled'].map(
  (rule) => `${NIST_800_53_R5}-${rule}`,
);

/** A reason says why: it gives a cause or a consequence, not just the rule's name again. */
const GIVES_A_CAUSE = /\b(because|so|since|which|would|only|never|nothing|no|instead|cannot)\b/i;

/** Every acknowledgement under `scope` as `<rule id> @ <construct path>`, without aws-cdk-lib's `Annotation::` prefix. */
function acknowledgedFindings(scope: IConstruct, prefix: string): string[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
      .map((id) => id.replace(/^annotation::/i, ''))
      .filter((id) => id.startsWith(prefix))
      .map((id) => `${id} @ ${construct.node.path}`),
  );
}

/** `nistFindings` lines as `<rule id> @ <construct path>`. */
function findingIds(findings: string[]): string[] {
  return findings.map((finding) => {
    const [, rule, where] = /^\S+ (\S+) @ (\S+):/.exec(finding) ?? [];
    return `${rule} @ ${where}`;
  });
}

describe('Compliance: cdk-nag NIST 800-53 rev 5 and AwsSolutions on the whole stack', () => {
  describe.each<[string, () => KeyrotorConfig]>([
    ['without tokens', () => testConfig()],
    ['with tokens', () => tokenTestConfig()],
    ['with the example config (keyrotor.config.json)', () => loadConfig(EXAMPLE_CONFIG)],
  ])('%s', (_name, config) => {
    let stack: KeyrotorStack;
    let unacknowledged: string[];

    beforeAll(() => {
      stack = buildAcknowledgedKeyrotorStack(config());
      Template.fromStack(stack);
      const plain = buildKeyrotorStack(config());
      Template.fromStack(plain);
      unacknowledged = findingIds(nistFindings(plain));
    });

    it('raises no unacknowledged NIST 800-53 rev 5 finding', () => {
      // Act
      const findings = nistFindings(stack);

      // Assess
      expect(findings).toEqual([]);
    });

    it('raises no AwsSolutions finding', () => {
      // Act
      const findings = awsSolutionsFindings(stack);

      // Assess
      expect(findings).toEqual([]);
    });

    it('acknowledges exactly the NIST findings the pack raises without acknowledgements, on the resource that raises each', () => {
      // Act
      const acknowledged = acknowledgedFindings(stack, `${NIST_800_53_R5}-`);

      // Assess
      expect(unacknowledged.length).toBeGreaterThan(0);
      expect([...acknowledged].sort()).toEqual([...unacknowledged].sort());
    });

    it('acknowledges only the rules that do not apply; log group encryption and the rest are fixed', () => {
      // Act
      const rules = new Set(acknowledgedFindings(stack, `${NIST_800_53_R5}-`).map((finding) => finding.split(' @ ')[0]));

      // Assess
      expect([...rules].filter((rule) => !ACKNOWLEDGEABLE_RULES.includes(rule!))).toEqual([]);
      expect(unacknowledged.filter((finding) => /CloudWatchLogGroup|DynamoDBPITR|KMSBackingKeyRotation|SQSQueue|SNS/.test(finding))).toEqual([]);
    });

    it('gives every acknowledgement, AwsSolutions and NIST, a reason of at least 40 characters that says why', () => {
      // Act
      const entries = acknowledgements(stack).flatMap((entry) => Object.entries(entry));

      // Assess
      expect(entries.some(([id]) => id.includes('AwsSolutions-'))).toBe(true);
      expect(entries.some(([id]) => id.includes(`${NIST_800_53_R5}-`))).toBe(true);
      for (const [id, reason] of entries) {
        // (The id is in each expectation so that a failure names the acknowledgement.)
        expect({ id, atLeast40Characters: reason.trim().length >= 40 }).toEqual({ id, atLeast40Characters: true });
        expect({ id, reason }).toEqual({ id, reason: expect.stringMatching(GIVES_A_CAUSE) });
        expect({ id, repeatsTheRuleId: reason.includes(id.replace(/^annotation::/i, '')) }).toEqual({ id, repeatsTheRuleId: false });
      }
    });
  });

  describe('Function: acknowledgeNistFindings', () => {
    it('adds nothing when called again', () => {
      // Prepare
      const stack = buildAcknowledgedKeyrotorStack(tokenTestConfig());
      const before = acknowledgements(stack).length;

      // Act
      acknowledgeNistFindings(stack);

      // Assess
      expect(acknowledgements(stack)).toHaveLength(before);
    });

    it('leaves the findings of a function it does not know, so a new resource needs a decision of its own', () => {
      // Prepare
      const stack = buildKeyrotorStack(testConfig());
      const stranger = new lambda.Function(stack, 'Stranger', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {};'),
      });

      // Act
      acknowledgeNistFindings(stack);
      Template.fromStack(stack);
      const findings = nistFindings(stack);

      // Assess
      expect(findings.length).toBeGreaterThan(0);
      for (const finding of findings) expect(finding).toContain(`@ ${stranger.node.path}/`);
      expect(findings.join('\n')).toMatch(/NIST\.800\.53\.R5-LambdaInsideVPC @ Keyrotor\/Stranger\/Resource/);
    });

    it('reserves its concurrency reasons for functions that reserve none: the token refresher reserves one', () => {
      // Prepare
      const stack = buildAcknowledgedKeyrotorStack(tokenTestConfig());

      // Act
      const refresher = stack.tokenRefresher!.refresher.function.node.defaultChild as lambda.CfnFunction;

      // Assess
      expect(acknowledgedFindings(refresher, `${NIST_800_53_R5}-`)).toEqual([`${NIST_800_53_R5}-LambdaInsideVPC @ ${refresher.node.path}`]);
      expect(Object.keys(NIST_REASONS.concurrency)).not.toContain('refresher');
    });
  });
});
