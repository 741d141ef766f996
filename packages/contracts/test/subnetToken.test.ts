import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { subnetTokenBytecode } from '../src/generated/index.js';
import { expectRevert, SUB, useFixture } from './fixture.js';

describe('SubnetToken', () => {
  const fx = useFixture();

  it('has its name, symbol, decimals and the initial supply minted to the deployer', async () => {
    const { token, deployer, alice } = fx();
    assert.equal(await token.read.name(), 'Subnet Token');
    assert.equal(await token.read.symbol(), 'SUB');
    assert.equal(await token.read.decimals(), 18);
    assert.equal(await token.read.totalSupply(), 10_000_000n * SUB);
    assert.equal(await token.read.owner(), deployer.address);
    assert.equal(await token.read.balanceOf([alice.address]), 100_000n * SUB);
    assert.ok(subnetTokenBytecode.startsWith('0x60'));
  });

  it('mints only through allowed minters; only the owner sets minters', async () => {
    const { token, mined, deployer, alice, bob } = fx();
    await expectRevert(token.write.mint([bob.address, 5n], { account: alice }), 'NotMinter');
    await expectRevert(
      token.write.setMinter([alice.address, true], { account: alice }),
      'OwnableUnauthorizedAccount',
    );
    await expectRevert(
      token.write.setMinter(['0x0000000000000000000000000000000000000000', true], { account: deployer }),
      'ZeroAddress',
    );
    const receipt = await mined(token.write.setMinter([alice.address, true], { account: deployer }));
    assert.equal(receipt.logs.length, 1);
    assert.equal(await token.read.isMinter([alice.address]), true);
    const before = await token.read.totalSupply();
    await mined(token.write.mint([bob.address, 5n * SUB], { account: alice }));
    assert.equal(await token.read.totalSupply(), before + 5n * SUB);
    await mined(token.write.setMinter([alice.address, false], { account: deployer }));
    await expectRevert(token.write.mint([bob.address, 5n], { account: alice }), 'NotMinter');
  });

  it('runs a faucet with a per-address cooldown when the owner enables it', async () => {
    const { token, mined, mine, blockNumber, deployer, alice, bob } = fx();
    await expectRevert(token.write.faucet({ account: alice }), 'FaucetDisabled');
    await expectRevert(token.write.setFaucet([true, 0n, 10n], { account: deployer }), 'InvalidFaucetAmount');
    await expectRevert(
      token.write.setFaucet([true, SUB, 10n], { account: alice }),
      'OwnableUnauthorizedAccount',
    );
    await mined(token.write.setFaucet([true, 7n * SUB, 10n], { account: deployer }));
    assert.equal(await token.read.faucetEnabled(), true);
    assert.equal(await token.read.faucetAmount(), 7n * SUB);
    assert.equal(await token.read.faucetCooldownBlocks(), 10n);

    const start = await token.read.balanceOf([alice.address]);
    await mined(token.write.faucet({ account: alice }));
    const dripBlock = await blockNumber();
    assert.equal(await token.read.balanceOf([alice.address]), start + 7n * SUB);
    assert.equal(await token.read.nextFaucetBlock([alice.address]), dripBlock + 10n);
    await expectRevert(token.write.faucet({ account: alice }), 'FaucetCooldown');
    await mined(token.write.faucet({ account: bob })); // per address
    await mine(9);
    await mined(token.write.faucet({ account: alice }));
    assert.equal(await token.read.balanceOf([alice.address]), start + 14n * SUB);

    await mined(token.write.setFaucet([false, 0n, 0n], { account: deployer }));
    await expectRevert(token.write.faucet({ account: bob }), 'FaucetDisabled');
  });

  it('burns and burns from an allowance (ERC20Burnable)', async () => {
    const { token, mined, alice, bob } = fx();
    const supply = await token.read.totalSupply();
    await mined(token.write.burn([SUB], { account: alice }));
    await mined(token.write.approve([bob.address, SUB], { account: alice }));
    await mined(token.write.burnFrom([alice.address, SUB], { account: bob }));
    assert.equal(await token.read.totalSupply(), supply - 2n * SUB);
    await expectRevert(
      token.write.burnFrom([alice.address, 1n], { account: bob }),
      'ERC20InsufficientAllowance',
    );
  });
});
