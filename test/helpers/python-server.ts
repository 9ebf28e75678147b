// A Python 3.11 program as a peer: it prints its port on its first line, and whatever it
// reports on the lines after; the test reads the port, drives it, then reads the report.
import { spawn } from 'node:child_process';
import { environmentFor } from '../examples/helpers';

export interface PythonPeer {
  port: number;
  /** The last line it printed, once it has exited (killed after timeoutMs). */
  lastLine(timeoutMs?: number): Promise<string>;
  stop(): void;
}

export function startPython(script: string, timeoutMs = 10_000): Promise<PythonPeer> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-W', 'ignore::DeprecationWarning', '-c', script], {
      stdio: ['ignore', 'pipe', 'pipe'], env: environmentFor('python3'),
    });
    let stdout = '';
    let stderr = '';
    let started = false;
    const exited = new Promise<void>((done) => child.on('close', () => done()));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs * 3);
    child.on('close', () => clearTimeout(killer));
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      const nl = stdout.indexOf('\n');
      if (started || nl < 0) return;
      started = true;
      const port = Number(stdout.slice(0, nl));
      if (!(port > 0)) {
        reject(new Error(`python3 printed no port: ${stdout}\n${stderr}`));
        return;
      }
      resolve({
        port,
        async lastLine(wait = timeoutMs): Promise<string> {
          const timer = setTimeout(() => child.kill('SIGKILL'), wait);
          await exited;
          clearTimeout(timer);
          const lines = stdout.trim().split('\n');
          if (lines.length < 2) throw new Error(`python3 reported nothing (exit ${child.exitCode}):\n${stdout}\n${stderr}`);
          return lines[lines.length - 1];
        },
        stop: () => child.kill('SIGKILL'),
      });
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (!started) reject(new Error(`python3 exited ${code} before printing its port:\n${stderr}`));
    });
  });
}
