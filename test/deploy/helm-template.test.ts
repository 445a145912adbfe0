// The helm-template subset renderer: output, trimming, if/else, functions, and refusal of anything else.

import { describe, expect, it } from 'vitest';
import { renderTemplate, type RenderContext } from './helm-template.js';

const ctx: RenderContext = {
  Values: { name: 'n', port: 80, on: true, off: false, empty: [], list: [1], map: { a: { b: 'c' } }, zero: 0, nul: null },
  Release: { Name: 'rel', Namespace: 'ns', Service: 'Helm' },
  Chart: { Name: 'infergate', Version: '0.1.0', AppVersion: '0.1.0' },
};
const r = (src: string): string => renderTemplate(src, ctx);

describe('helm-template subset', () => {
  it('prints values, release and chart fields', () => {
    expect(r('a: {{ .Values.name }}:{{ .Values.port }} {{ .Release.Name }}/{{ .Release.Namespace }} {{ .Chart.AppVersion }}')).toBe('a: n:80 rel/ns 0.1.0');
    expect(r('{{ .Values.missing }}')).toBe('<no value>');
    expect(r('{{ .Values.map.a.b }}')).toBe('c');
  });

  it('trims whitespace like Go templates', () => {
    expect(r('a:\n  {{- .Values.name }}\n')).toBe('a:n\n');
    expect(r('a: {{ .Values.name -}}\n\n  b')).toBe('a: nb');
    expect(r('x\n{{- /* note */ -}}\ny')).toBe('xy');
    expect(r('x{{/* note */}}y')).toBe('xy');
  });

  it('if / else / end with Go truthiness', () => {
    expect(r('{{ if .Values.on }}y{{ else }}n{{ end }}')).toBe('y');
    for (const v of ['off', 'empty', 'zero', 'nul', 'missing']) expect(r(`{{ if .Values.${v} }}y{{ else }}n{{ end }}`), v).toBe('n');
    expect(r('{{ if .Values.list }}y{{ end }}')).toBe('y');
    expect(r('{{ if .Values.map }}{{ if .Values.off }}a{{ else }}b{{ end }}{{ end }}')).toBe('b');
    expect(r('a\n{{- if .Values.off }}\nb\n{{- end }}\nc')).toBe('a\nc');
  });

  it('functions: quote, toYaml, nindent, indent, default', () => {
    expect(r('{{ .Values.name | quote }}')).toBe('"n"');
    expect(r('{{ quote .Values.port }}')).toBe('"80"');
    expect(r('m:{{ toYaml .Values.map | nindent 2 }}')).toBe('m:\n  a:\n    b: c');
    expect(r('{{ toYaml .Values.list | indent 4 }}')).toBe('    - 1');
    expect(r('{{ .Values.missing | default "d" }} {{ .Values.name | default "d" }}')).toBe('d n');
  });

  it('refuses what is outside the subset instead of rendering it wrong', () => {
    expect(() => r('{{ range .Values.list }}x{{ end }}')).toThrow(/subset/);
    expect(() => r('{{ include "x" . }}')).toThrow(/subset/);
    expect(() => r('{{ .Values.name | upper }}')).toThrow(/subset/);
    expect(() => r('{{ if .Values.on }}a{{ else if .Values.off }}b{{ end }}')).toThrow(/subset/);
    expect(() => r('{{ if .Values.on }}a')).toThrow(/missing/);
    expect(() => r('{{ .Values.map }}')).toThrow(/toYaml/);
    expect(() => r('{{ .Files.Get "x" }}')).toThrow(/unsupported/);
  });
});
