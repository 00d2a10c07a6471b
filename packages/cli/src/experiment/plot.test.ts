import { describe, expect, it } from 'vitest';
import { linePlotSvg, seriesStyle, ticks } from './plot';

describe('the report plots', () => {
  it('give each of 12 series its own colour and dash pattern', () => {
    const styles = Array.from({ length: 12 }, (_, n) => seriesStyle(n));
    expect(new Set(styles.map((s) => `${s.colour}/${s.dash}`)).size).toBe(12);
    expect(styles[0]).toEqual({ colour: styles[6]!.colour, dash: '' });
    expect(styles[6]!.dash).not.toBe('');
  });
  it('widen the legend for long names, so no name runs off the image', () => {
    const plot = (name: string) => linePlotSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name, points: [{ x: 1, y: 0.5 }, { x: 2, y: 0.6 }] }] });
    const width = (svg: string) => Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    expect(width(plot('scratch'))).toBe(640);
    const long = 'interpolation (contour, OHIF)';
    const svg = plot(long);
    const textX = Number(new RegExp(`<text x="([\\d.]+)"[^>]*>${long.replace(/[()]/g, '\\$&')}</text>`).exec(svg)![1]);
    expect(textX + 7 * long.length).toBeLessThanOrEqual(width(svg));
  });
  it('ticks at round steps', () => {
    expect(ticks(0, 1).map((t) => +t.toFixed(9))).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(Object.is(ticks(-1e-12, 1)[0], -0)).toBe(false);
  });
});
